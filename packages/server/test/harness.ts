import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Role } from '@v2g/domain';
import { connectPostgres } from '@v2g/event-store';
import { parseApiKeyToken } from '@v2g/ledger';
import { buildApp, type AppDeps } from '../src/app.ts';
import type { JwtConfig } from '../src/auth/auth-config.ts';
import { hardeningConfig } from '../src/hardening-config.ts';
import { openLedger, type Ledger } from '../src/ledger-app.ts';
import { createLogger } from '../src/logger.ts';

export type LogLine = Record<string, unknown> & { msg?: string; requestId?: string; level?: string };

export type GraphQLResponse<D = Record<string, any>> = {
  status: number;
  headers: Headers;
  body: { data?: D | null; errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[] };
};

/**
 * The operator key every test server (and every child server, see child-server.ts) is started with
 * (AUTH_BOOTSTRAP_OPERATOR_KEY): requests that name no other credentials are an operator's.
 */
export const TEST_OPERATOR_KEY = 'v2g_e2eoperator_e2e-operator-secret-0123456789abcdefghij';
export const TEST_OPERATOR_ACTOR = `apikey:${parseApiKeyToken(TEST_OPERATOR_KEY)!.keyId}`;

/** Headers of a request as the holder of this key or token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
/** Headers of a request without credentials (the harness otherwise sends the operator's). */
export const ANONYMOUS: Record<string, string> = { authorization: '' };

export type TestPrincipal = { token: string; keyId: string; actor: string; headers: Record<string, string> };

export type TestServer = {
  url: string;
  ledger: Ledger;
  /** The schema the ledger's tables live in ('v2g' on PGlite, one of its own on a server). */
  dbSchema: string;
  logs: LogLine[];
  /**
   * POST /graphql, asking for application/graphql-response+json as modern clients do; as the test
   * operator unless `headers` carry another Authorization (see `as`, `bearer`, `ANONYMOUS`).
   */
  gql<D = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<D>>;
  /** A new API key for a role (and subject), created through the ledger: send `headers` to act as it. */
  as(role: Role, subject?: string | null, name?: string): Promise<TestPrincipal>;
  /**
   * The log's head once every append committed so far is readable. Compare two of these around a
   * step that must write nothing: a bare headPosition() may still be catching up with earlier
   * appends on a server, and then it moves although the step wrote nothing.
   */
  settledHead(): Promise<bigint>;
  /** Serves another app (other deps) on the same ledger; closed with the server. */
  serve(deps: (base: AppDeps) => AppDeps): Promise<string>;
  close(): Promise<void>;
};

export type TestServerOptions = {
  /** null: PGlite in memory. */
  databaseUrl: string | null;
  /** Accept JWT bearer tokens too (AUTH_JWT_*). */
  jwt?: JwtConfig;
  /** The ledger's clock (default Date.now): see `movableClock`. */
  clock?: () => number;
};

/** A ledger clock that runs with the wall clock from wherever a test moves it (`moveTo`): a day in the past, as it was lived. */
export type MovableClock = { now: () => number; moveTo: (instant: string) => void };

export function movableClock(start?: string): MovableClock {
  let offsetMs = start === undefined ? 0 : Date.parse(start) - Date.now();
  return {
    now: () => Date.now() + offsetMs,
    moveTo: (instant) => {
      offsetMs = Date.parse(instant) - Date.now();
    },
  };
}

/** A fresh ledger (its own schema on a server) behind buildApp on a random port. */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const logs: LogLine[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const dbSchema = options.databaseUrl === null ? 'v2g' : `e2e_${process.pid}_${randomUUID().slice(0, 8)}`;
  const ledger = await openLedger(
    {
      databaseUrl: options.databaseUrl,
      eventStoreUrl: null,
      dbSchema,
      dataDir: undefined,
      bootstrapOperatorKey: parseApiKeyToken(TEST_OPERATOR_KEY),
      ...(options.clock ? { clock: options.clock } : {}),
    },
    logger,
  );
  await ledger.start();
  // The default limits, but no rate limit: tests poll faster than any client should.
  const base: AppDeps = { ledger, logger, graphiql: true, readyMaxLag: 1000n, jwt: options.jwt ?? null, hardening: hardeningConfig({ RATE_LIMIT_PER_MINUTE: '0' }) };
  const servers: Server[] = [];
  const serve = async (deps: (base: AppDeps) => AppDeps) => {
    const server = buildApp(deps(base)).listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const url = await serve((d) => d);
  return {
    url,
    ledger,
    dbSchema,
    logs,
    serve,
    gql: (query, variables, headers) => postGraphQL(url, query, variables, headers),
    settledHead: () => settledHead(ledger, dbSchema),
    async as(role, subject = null, name = `${role} ${subject ?? ''}`.trim()) {
      const { token, key } = await ledger.access.apiKeys.create({ role, subject, name }, { commandId: randomUUID(), actor: TEST_OPERATOR_ACTOR });
      return { token: token!, keyId: key.keyId, actor: `apikey:${key.keyId}`, headers: bearer(token!) };
    },
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await ledger.close();
      if (options.databaseUrl !== null) {
        const sql = await connectPostgres(options.databaseUrl);
        await sql.query(`DROP SCHEMA IF EXISTS "${dbSchema}" CASCADE`);
        await sql.close();
      }
    },
  };
}

export async function postGraphQL<D>(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse<D>> {
  // The test operator's key unless the caller names other credentials (or none: ANONYMOUS).
  const credentials = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization') ? {} : bearer(TEST_OPERATOR_KEY);
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...credentials, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<D>['body'] };
}

/** The data of a request that must succeed: throws with its errors otherwise. */
export async function queryData(server: Pick<TestServer, 'gql'>, query: string, variables: Record<string, unknown> = {}, headers?: Record<string, string>): Promise<any> {
  const { status, body } = await server.gql<any>(query, variables, headers);
  if (body.errors !== undefined || status !== 200) throw new Error(`GraphQL request failed (HTTP ${status}): ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Sends the command mutation `name` with a fresh commandId; its payload: __typename, an error's code and message, and `fields`. */
export async function sendCommand(server: Pick<TestServer, 'gql'>, name: string, inputType: string, input: Record<string, unknown>, fields = ''): Promise<any> {
  const mutation = `mutation($input: ${inputType}!) { ${name}(input: $input) { __typename ... on Error { code message } ${fields} } }`;
  return (await queryData(server, mutation, { input: { commandId: randomUUID(), ...input } }))[name];
}

async function settledHead(ledger: Ledger, dbSchema: string, timeoutMs = 30_000): Promise<bigint> {
  const { rows } = await ledger.sql.query<{ last: string }>(`SELECT coalesce(max(global_position), 0)::text AS last FROM "${dbSchema}".events`);
  const committed = BigInt(rows[0]!.last);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await ledger.store.headPosition();
    if (head >= committed) return head;
    if (Date.now() > deadline) throw new Error(`the readable head stayed at ${head}, below the committed position ${committed}, for ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The flat tariff `openAccounts` assigns. */
const E2E_TARIFF_ID = 'e2e-flat';

/**
 * Makes each id a known account (a customer or a fleet): assigns it a flat tariff from 2020 on.
 * A session is only plugged in, and a fleet manager or driver key only created, for an account
 * the ledger knows (ACCOUNT_NOT_FOUND otherwise). `server`: a test server, or any GraphQL endpoint's
 * `gql` (the operator's key).
 */
export async function openAccounts(server: Pick<TestServer, 'gql'>, ...accountIds: string[]): Promise<void> {
  const defined = await sendCommand(server, 'defineTariff', 'DefineTariffInput', {
    tariff: { tariffId: E2E_TARIFF_ID, name: 'E2E flat', currency: 'EUR', energy: { fixed: { priceMinorPerKWh: '30' } }, speedBands: [] },
  });
  if (defined.__typename !== 'CommandRecorded' && defined.code !== 'TARIFF_ALREADY_DEFINED') throw new Error(`defineTariff: ${defined.code}: ${defined.message}`);
  for (const accountId of accountIds) {
    const assigned = await sendCommand(server, 'assignTariff', 'AssignTariffInput', { accountId, tariffId: E2E_TARIFF_ID, validFrom: '2020-01-01T00:00:00Z' });
    if (assigned.__typename !== 'CommandRecorded') throw new Error(`assignTariff ${accountId}: ${assigned.code}: ${assigned.message}`);
  }
}

/** A site id no other test uses. */
/** The payload of the first `next` event on a GraphQL subscription's event stream; throws if the stream ends first. */
export async function firstSubscriptionData<T>(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<T> {
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended: ${text}`);
    text += new TextDecoder().decode(value);
    const data = /event: next\ndata: (.*)\n/.exec(text);
    if (data) return JSON.parse(data[1]!) as T;
  }
}

/**
 * The parties of a settlement scenario, named after `tag` so that runs never meet: a market zone
 * (Z…), the price zone pricing its imbalances (P…), a seller holding a fleet, and a buyer.
 */
export const settlementParties = (tag: string) => ({ zone: `Z${tag}`, priceZone: `P${tag}`, seller: `seller-${tag}`, buyer: `buyer-${tag}`, fleet: `fleet-${tag}` });

export const freshSiteId = (): string => `s${randomUUID().slice(0, 8)}`;

/** Polls until every projection's checkpoint reaches `position` (the read models include it). */
export async function waitForProjections(server: TestServer, position: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await server.gql<{ projections: { name: string; checkpoint: string }[] }>('{ projections { name checkpoint } }');
    const projections = body.data?.projections ?? [];
    if (projections.length > 0 && projections.every((p) => BigInt(p.checkpoint) >= BigInt(position))) return;
    if (Date.now() > deadline) throw new Error(`projections did not reach position ${position} in ${timeoutMs} ms: ${JSON.stringify(projections)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Waits until the read models include everything a stream holds now. (Not the log's head: on the
 * PostgreSQL server the head waits for every older open append of the store, and may not
 * include an append that has just returned.)
 */
export async function waitForStream(server: TestServer, streamId: string): Promise<void> {
  const events = await server.ledger.store.readStream(streamId);
  const last = events.at(-1);
  if (last) await waitForProjections(server, last.globalPosition.toString());
}

export const REGISTER_SITE = /* GraphQL */ `
  mutation Register($input: RegisterSiteInput!) {
    registerSite(input: $input) {
      __typename
      ... on RegisterSitePayload {
        commandId
        duplicate
        streamId
        streamVersion
        position
        site {
          siteId
          name
          importLimitW
          exportLimitW
          version
        }
      }
      ... on Error {
        code
        message
      }
      ... on InvalidCommandError {
        field
        reason
      }
    }
  }
`;

export type RegisterResult = {
  registerSite: {
    __typename: string;
    commandId?: string;
    duplicate?: boolean;
    streamId?: string;
    streamVersion?: number;
    position?: string | null;
    site?: { siteId: string; name: string; importLimitW: string; exportLimitW: string; version: number } | null;
    code?: string;
    message?: string;
    field?: string;
  };
};

export function registerSite(
  server: TestServer,
  input: Partial<{ commandId: string; siteId: string; name: string; importLimitW: string; exportLimitW: string }> = {},
  headers?: Record<string, string>,
) {
  return server.gql<RegisterResult>(
    REGISTER_SITE,
    { input: { commandId: randomUUID(), siteId: freshSiteId(), name: 'Depot', importLimitW: '11000', exportLimitW: '5000', ...input } },
    headers,
  );
}
