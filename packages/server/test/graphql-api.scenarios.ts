import { randomUUID } from 'node:crypto';
import { Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, freshSiteId, registerSite, TEST_OPERATOR_KEY, startTestServer, waitForProjections, waitForStream, type TestServer, type TestServerOptions } from './harness.ts';

/**
 * The GraphQL API end to end (HTTP → yoga → command handler → store → projection → read model),
 * run once per database by the *.e2e.spec.ts files that call it.
 */
export function describeGraphQLApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`GraphQL API over ${label}`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer(options!);
    });
    afterAll(async () => {
      await server?.close();
    });

    const head = () => server.settledHead();

    it('registers a site, and the catalogue then shows its stream with its events and their metadata', async () => {
      const siteId = freshSiteId();
      const commandId = randomUUID();
      const operator = await server.as('operator', null, 'operator 7');
      const { status, body } = await registerSite(server, { siteId, commandId, importLimitW: '11000.5' }, operator.headers);
      expect(status).toBe(200);
      const payload = body.data!.registerSite;
      expect(payload).toMatchObject({
        __typename: 'RegisterSitePayload',
        commandId,
        duplicate: false,
        streamId: `site-${siteId}`,
        streamVersion: 1,
        site: { siteId, name: 'Depot', importLimitW: '11000.5', exportLimitW: '5000', version: 1 },
      });
      await waitForProjections(server, payload.position!);

      const { body: read } = await server.gql(
        `query($id: ID!) {
          stream(id: $id) {
            streamId category version lastEventType firstRecordedAt lastRecordedAt firstPosition
            events(first: 10) {
              totalCount
              edges { cursor node {
                streamId streamVersion globalPosition type schemaVersion data hash
                metadata { commandId correlationId causationId actor occurredAt recordedAt }
              } }
            }
          }
          eventTypes { type count lastPosition }
        }`,
        { id: `site-${siteId}` },
      );
      expect(read.errors).toBeUndefined();
      const stream = read.data!.stream;
      expect(stream).toMatchObject({
        streamId: `site-${siteId}`,
        category: 'site',
        version: 1,
        lastEventType: 'SiteRegistered',
        firstPosition: payload.position,
      });
      expect(new Date(stream.firstRecordedAt).toISOString()).toBe(stream.firstRecordedAt);
      expect(stream.events.totalCount).toBe('1');
      const event = stream.events.edges[0].node;
      expect(event).toMatchObject({
        streamId: `site-${siteId}`,
        streamVersion: 1,
        globalPosition: payload.position,
        type: 'SiteRegistered',
        schemaVersion: 1,
        data: { siteId, name: 'Depot', importLimitW: '11000.5', exportLimitW: '5000' },
        metadata: { commandId, correlationId: commandId, causationId: commandId, actor: operator.actor },
      });
      expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(event.metadata.recordedAt).toBe(stream.firstRecordedAt);
      expect(read.data!.eventTypes).toContainEqual(expect.objectContaining({ type: 'SiteRegistered' }));

      const { body: listed } = await server.gql(`{ streams(first: 100, category: "site") { edges { node { streamId } } } }`);
      expect(listed.data!.streams.edges.map((e: any) => e.node.streamId)).toContain(`site-${siteId}`);
    });

    it("pages through streams and through a stream's events, Relay style", async () => {
      const ids = [freshSiteId(), freshSiteId(), freshSiteId()];
      let last = '0';
      for (const siteId of ids) last = (await registerSite(server, { siteId })).body.data!.registerSite.position!;
      await waitForProjections(server, last);

      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      let totalCount: string;
      for (;;) {
        const { body }: { body: { data?: any; errors?: unknown } } = await server.gql(
          `query($after: String) { streams(first: 2, after: $after, category: "site") {
             totalCount edges { cursor node { streamId } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
          { after },
        );
        expect(body.errors).toBeUndefined();
        const page: any = body.data!.streams;
        expect(page.edges.length).toBeLessThanOrEqual(2);
        expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
        expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
        expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
        seen.push(...page.edges.map((e: any) => e.node.streamId));
        totalCount = page.totalCount;
        pages += 1;
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(BigInt(totalCount)).toBe(BigInt(seen.length));
      expect(pages).toBeGreaterThanOrEqual(2);
      const ours = seen.filter((id) => ids.some((siteId) => id === `site-${siteId}`));
      expect(ours).toEqual(ids.map((siteId) => `site-${siteId}`));

      // A stream with three events, read two at a time.
      const siteId = ids[0]!;
      for (const name of ['Depot North', 'Depot South']) {
        const { body } = await server.gql(`mutation($input: RenameSiteInput!) { renameSite(input: $input) { __typename ... on RenameSitePayload { streamVersion } } }`, {
          input: { commandId: randomUUID(), siteId, name },
        });
        expect(body.data!.renameSite.__typename).toBe('RenameSitePayload');
      }
      const eventsPage = async (after: string | null) =>
        (
          await server.gql(
            `query($id: ID!, $after: String) { stream(id: $id) { events(first: 2, after: $after) {
               totalCount edges { node { streamVersion type } } pageInfo { hasNextPage endCursor } } } }`,
            { id: `site-${siteId}`, after },
          )
        ).body.data!.stream.events;
      await waitForStream(server, `site-${siteId}`);
      const first = await eventsPage(null);
      expect(first.edges.map((e: any) => e.node.streamVersion)).toEqual([1, 2]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      expect(first.totalCount).toBe('3');
      const second = await eventsPage(first.pageInfo.endCursor);
      expect(second.edges.map((e: any) => [e.node.streamVersion, e.node.type])).toEqual([[3, 'SiteRenamed']]);
      expect(second.pageInfo.hasNextPage).toBe(false);
    });

    it('answers a resent command with its first result and writes nothing new', async () => {
      const input = { commandId: randomUUID(), siteId: freshSiteId() };
      const first = (await registerSite(server, input)).body.data!.registerSite;
      const before = await head();
      const again = (await registerSite(server, input)).body.data!.registerSite;
      expect(first.duplicate).toBe(false);
      expect(again).toMatchObject({ __typename: 'RegisterSitePayload', duplicate: true, position: first.position, streamVersion: 1 });
      expect(await head()).toBe(before);
      expect(await server.ledger.store.readStream(`site-${input.siteId}`)).toHaveLength(1);
    });

    it('returns refusals as typed union members, naming the field, and writes nothing', async () => {
      const siteId = freshSiteId();
      const before = await head();
      const negative = (await registerSite(server, { siteId, exportLimitW: '-5' })).body.data!.registerSite;
      expect(negative).toMatchObject({ __typename: 'InvalidCommandError', code: 'INVALID_COMMAND', field: 'exportLimitW' });
      expect(negative.message).toContain('exportLimitW');
      expect(await head()).toBe(before);

      await registerSite(server, { siteId });
      // On a server the readable head can trail the append just acknowledged: wait until it is readable.
      await waitForStream(server, `site-${siteId}`);
      const afterFirst = await head();
      const second = (await registerSite(server, { siteId })).body.data!.registerSite;
      expect(second).toMatchObject({ __typename: 'SiteAlreadyRegisteredError', code: 'SITE_ALREADY_REGISTERED' });
      expect(await head()).toBe(afterFirst);

      const { body } = await server.gql(`mutation($input: RenameSiteInput!) { renameSite(input: $input) { __typename ... on Error { code message } } }`, {
        input: { commandId: randomUUID(), siteId: freshSiteId(), name: 'Nowhere' },
      });
      expect(body.data!.renameSite).toMatchObject({ __typename: 'UnknownSiteError', code: 'UNKNOWN_SITE' });
      expect(await head()).toBe(afterFirst);
    });

    it('runs every operation GraphiQL opens with, in order, as served today: none fails', async () => {
      const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const options = /renderYogaGraphiQL\(\s*window\.document\.querySelector\('#root'\),\s*(\{.*\}),\s*\);/s.exec(await page.text());
      expect(options, 'GraphiQL page embeds its options').not.toBeNull();
      const document = (JSON.parse(options![1]!) as { defaultQuery: string }).defaultQuery;
      const names = parse(document).definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION && d.name ? [d.name.value] : []));
      expect(names).toEqual([
        'RegisterSite',
        'AddFeeder',
        'AddCharger',
        'AddConnector',
        'OpenAccount',
        'PlugIn',
        'SiteTree',
        'ConfigureMarketZone',
        'SubmitOrders',
        'OrderBook',
        'Streams',
      ]);
      const results: Record<string, Record<string, any>> = {};
      for (const operationName of names) {
        // Read models are eventually consistent: a query after a command waits for what it wrote.
        if (/^(SiteTree|OrderBook|Streams)$/.test(operationName)) await waitForProjections(server, (await head()).toString());
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...bearer(TEST_OPERATOR_KEY) },
          body: JSON.stringify({ query: document, operationName }),
        });
        const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
        expect({ operationName, status: response.status, errors: body.errors }).toEqual({ operationName, status: 200, errors: undefined });
        // No mutation answered with one of its typed errors (every result type ending in "Error").
        const refusals = JSON.stringify(body.data).match(/"__typename":"\w+Error"/g);
        expect({ operationName, refusals }).toEqual({ operationName, refusals: null });
        results[operationName] = body.data!;
      }
      expect(results.PlugIn!.plugIn.session.allocation.setpointW).not.toBe('0');
      expect(results.SubmitOrders!.submitOrders.trades).toHaveLength(1);
      expect(results.OrderBook!.orderBook.status).toBe('OPEN');
      expect(results.OrderBook!.trades.edges).toHaveLength(1);
      expect(results.OrderBook!.positions).toHaveLength(1);
      expect(results.SiteTree!.site.sessions).toHaveLength(1);
    });

    it('refuses malformed GraphQL with 400 and a clear message, and writes nothing', async () => {
      const before = await head();
      const syntax = await server.gql('mutation { registerSite(input: {');
      expect(syntax.status).toBe(400);
      expect(syntax.body.errors![0]!.message).toMatch(/Syntax Error/);

      // A JSON number where a Decimal string belongs never reaches a resolver.
      const numeric = await server.gql(
        `mutation { registerSite(input: { commandId: "x", siteId: "${freshSiteId()}", name: "N", importLimitW: 11000, exportLimitW: "0" }) { __typename } }`,
      );
      expect(numeric.status).toBe(400);
      expect(numeric.body.errors![0]!.message).toContain('Decimal must be a decimal string');
      expect(await head()).toBe(before);
    });

    it('puts the code of a thrown CodedError in extensions.code', async () => {
      const tooMany = await server.gql('{ streams(first: 500) { totalCount } }');
      expect(tooMany.body.errors![0]).toMatchObject({
        path: ['streams'],
        extensions: { code: 'INVALID_ARGUMENT', details: { argument: 'first' } },
      });
      const badCursor = await server.gql('{ streams(after: "not-a-cursor") { totalCount } }');
      expect(badCursor.body.errors![0]!.extensions).toMatchObject({ code: 'INVALID_CURSOR', details: { argument: 'after' } });
      const badSite = await server.gql('{ site(siteId: "no spaces allowed") { name } }');
      expect(badSite.body.errors![0]!.extensions).toMatchObject({ code: 'INVALID_ARGUMENT', details: { argument: 'siteId' } });
    });

    it("reads a site's current state from its stream", async () => {
      const siteId = freshSiteId();
      await registerSite(server, { siteId });
      await server.gql(`mutation($input: RenameSiteInput!) { renameSite(input: $input) { __typename } }`, {
        input: { commandId: randomUUID(), siteId, name: 'Depot West' },
      });
      const { body } = await server.gql(`query($id: ID!) { site(siteId: $id) { siteId name importLimitW version } }`, { id: siteId });
      expect(body.data!.site).toEqual({ siteId, name: 'Depot West', importLimitW: '11000', version: 2 });
      const { body: none } = await server.gql(`query($id: ID!) { site(siteId: $id) { name } }`, { id: freshSiteId() });
      expect(none.data!.site).toBeNull();
    });
  });
}
