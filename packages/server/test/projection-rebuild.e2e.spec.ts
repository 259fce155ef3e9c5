import { randomUUID } from 'node:crypto';
import { formatInstant, sessionDecider, sessionStreamId, type PlugIn, type SessionCommand } from '@v2g/domain';
import { BILLING_READ_MODEL_TABLES } from '@v2g/projection-billing';
import { CommandHandler, ProjectionRunner, type Projection, type TableNames } from '@v2g/ledger';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fillMixed, type MixedFillResult } from '@v2g/testing/workloads';
import { PROJECTIONS } from '@v2g/ledger';
import { startTestServer, waitForProjections, type TestServer } from './harness.ts';

/**
 * Blue/green rebuild of every projection through the server, while a client keeps querying it
 * (GraphQL and its tables, in tight loops) and appending: no query fails, the rebuild's progress
 * shows in `projectionStatus`, and after the switch every table equals a build from scratch, row
 * for row.
 */

const postgresUrl = inject('postgresUrl');
const silent = pino({ level: 'silent' });

/** One GraphQL query per read model (served from its tables). */
const QUERIES: Record<string, string> = {
  catalogue: '{ streams(first: 3) { totalCount edges { node { streamId version } } } eventTypes { type count } }',
  grid: '{ gridSessions(siteId: "bench-site-1", first: 5) { edges { node { sessionId } } } }',
  billing: '{ sessionCost(sessionId: "bench-1") { __typename } tariffAssignments(accountId: "bench-cust-1") { __typename } }',
  settlement: '{ ledgerTotals { ledger accounts balanced posted pending } ledgerAccounts(accountPrefix: "trader:") { __typename } }',
  market: '{ trades(zone: "BENCHMK", first: 5, newestFirst: true) { edges { node { quantityKWh } } } }',
};

function rebuildSuite(label: string, databaseUrl: () => string | null) {
  describe(`projection rebuild while serving (${label})`, () => {
    let server: TestServer;
    let fill: MixedFillResult;
    let last = 0n;
    const schemas: string[] = [];

    beforeAll(async () => {
      server = await startTestServer({ databaseUrl: databaseUrl() });
      fill = await fillMixed({ store: server.ledger.store, readings: 1_200, sessions: 12, loadsPerSite: 2, orders: 400, chunk: 20 });
      last = fill.lastPosition;
      // A closed settlement period (statements, lines, transfers), from the market's first books.
      await waitForProjections(server, last.toString(), 60_000);
      const closed = await server.ledger.settlement.service.closePeriod(
        { zone: fill.market.zone, periodStart: fill.market.firstDelivery },
        { commandId: randomUUID(), actor: 'test' },
      );
      expect(closed.outcome).toBe('closed');
      last = closed.result?.lastPosition ?? last;
      await waitForProjections(server, last.toString(), 60_000);
    }, 240_000);
    afterAll(async () => {
      if (databaseUrl() !== null) for (const schema of schemas) await server?.ledger.sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await server?.close();
    });

    /** Appends that reach every read model: site loads, a session's readings, crossing orders on an open book. */
    function appender() {
      const { ledger } = server;
      const sessionId = `live-${randomUUID().slice(0, 8)}`;
      const started = Date.now();
      let positions: bigint[] = [];
      const session = async (command: SessionCommand) => {
        const { result } = await new CommandHandler(ledger.store).handle(sessionDecider, sessionStreamId(sessionId), command, { commandId: randomUUID(), actor: 'test' });
        if (result.lastPosition !== null) positions.push(result.lastPosition);
      };
      const delivery = formatInstant(Math.ceil((Date.now() + 3 * 3_600_000) / 900_000) * 900_000);
      let steps = 0;
      const step = async () => {
        // Steps overlap (the writing loop and the test's own): each keeps its number.
        const i = ++steps;
        if (i === 1) {
          const plugIn: PlugIn = {
            type: 'PlugIn',
            sessionId,
            siteId: 'bench-site-7',
            connectorId: 'C3-1',
            at: formatInstant(started),
            vehicleId: `v-${sessionId}`,
            customerId: 'bench-cust-7',
            fleetId: null,
            tier: 'normal',
            departureAt: formatInstant(started + 8 * 3_600_000),
            energyNeededWh: '30000',
            targetSocPercent: null,
            batteryCapacityWh: null,
            socPercent: null,
            minPowerW: '1400',
            maxPowerW: '11000',
            v2g: null,
            meterStartImportWh: '1000',
            meterStartExportWh: '0',
          };
          await session(plugIn);
          return;
        }
        const at = formatInstant(started + i * 1000);
        await session({
          type: 'RecordSessionMeterReading',
          sessionId,
          at,
          occurredAt: at,
          energyImportWh: String(1000 + i * 3),
          energyExportWh: '0',
          powerW: null,
          socPercent: null,
        });
        const load = await ledger.grid.service.site(
          {
            type: 'RecordNodeLoad',
            siteId: `bench-site-${i % 10}`,
            nodeId: `bench-site-${i % 10}-f1`,
            occurredAt: formatInstant(Date.now()),
            otherLoadW: String(10_000 + i),
            generationW: '0',
          },
          { commandId: randomUUID(), actor: 'test' },
        );
        if (load.result.lastPosition !== null) positions.push(load.result.lastPosition);
        const [buyer, seller] = [fill.market.traders[i % 5]!, fill.market.traders[5 + (i % 5)]!];
        const submitted = await ledger.market.service.submitOrders(
          {
            zone: fill.market.zone,
            deliveryStart: delivery,
            lengthMinutes: 15,
            orders: [
              { clientOrderId: `${sessionId}-s${i}`, traderId: seller, side: 'sell', orderType: 'limit', quantityKWh: '1', limitPriceMinorPerMWh: '8000' },
              { clientOrderId: `${sessionId}-b${i}`, traderId: buyer, side: 'buy', orderType: 'limit', quantityKWh: '1', limitPriceMinorPerMWh: '8000' },
            ],
          },
          { commandId: randomUUID(), actor: 'test' },
        );
        if (submitted.result.lastPosition !== null) positions.push(submitted.result.lastPosition);
      };
      return {
        step,
        last: () => positions.reduce((a, b) => (b > a ? b : a), 0n),
        reset: () => void (positions = []),
      };
    }

    async function dump(names: TableNames, logical: string): Promise<string[]> {
      return (await server.ledger.sql.query<{ line: string }>(`SELECT t::text AS line FROM ${names(logical)} t ORDER BY 1`)).rows.map((r) => r.line);
    }

    it.each(PROJECTIONS.map((p) => [p.name, p] as const))(
      '%s: rebuilt while queried and appended to; no query fails; equal to a build from scratch',
      async (name, projection: Projection) => {
        const { ledger } = server;
        const live = ledger.projections.tables(projection);
        const writer = appender();
        await writer.step(); // the plug-in
        let running = true;
        const failures: string[] = [];
        let queries = 0;
        let transportRetries = 0;
        // Every table of the read model in one statement (a reader that locks them one after the other), and its GraphQL query.
        const everyTable = `SELECT ${projection.tables.map((t, i) => `(SELECT count(*) FROM ${live(t)}) AS c${i}`).join(', ')}`;
        const readers = [
          (async () => {
            while (running) {
              try {
                await ledger.sql.query(everyTable);
                queries += 1;
              } catch (error) {
                failures.push(`sql: ${error instanceof Error ? error.message : String(error)}`);
              }
              // In-process PGlite answers without ever leaving the microtask queue: let timers and I/O in.
              await yieldToEventLoop();
            }
          })(),
          (async () => {
            while (running) {
              let response: Awaited<ReturnType<TestServer['gql']>>;
              try {
                response = await server.gql(QUERIES[name]!);
              } catch (error) {
                // A kept-alive socket the server closed just as the client reused it (a transport
                // race, not an answer): sent again once on a fresh one; a second failure counts.
                transportRetries += 1;
                try {
                  response = await server.gql(QUERIES[name]!);
                } catch {
                  failures.push(`graphql transport: ${error instanceof Error ? error.message : String(error)}`);
                  continue;
                }
              }
              queries += 1;
              if (response.status !== 200 || response.body.errors) failures.push(`graphql ${response.status}: ${JSON.stringify(response.body.errors)}`);
            }
          })(),
        ];
        const writing = (async () => {
          while (running) {
            await writer.step();
            await yieldToEventLoop();
          }
        })();
        try {
          await waitFor(async () => queries >= 5, 'the readers to run');
          await rebuildAndCompare();
        } finally {
          running = false;
          await Promise.allSettled([...readers, writing]);
        }

        async function rebuildAndCompare(): Promise<void> {
          const started = await server.gql<{ rebuildProjection: { __typename: string; id?: string; state?: string } }>(
            `mutation($name: String!) { rebuildProjection(name: $name) { __typename ... on ProjectionRebuild { id state name version } ... on Error { code message } } }`,
            { name },
          );
          expect(started.body.errors).toBeUndefined();
          expect(started.body.data!.rebuildProjection).toMatchObject({ __typename: 'ProjectionRebuild', state: 'BUILDING' });
          const id = started.body.data!.rebuildProjection.id!;
          const before = queries;
          const seen: { state: string; done: string; total: string }[] = [];
          const deadline = Date.now() + 120_000;
          for (;;) {
            const { body } = await server.gql<{
              projectionStatus: {
                state: string;
                lag: string;
                lagSeconds: number;
                rebuild: { id: string; state: string; done: string; total: string; eventsPerSecond: number; etaSeconds: number | null; startedAt: string } | null;
              };
            }>(`query($name: String!) { projectionStatus(name: $name) { state lag lagSeconds rebuild { id state done total eventsPerSecond etaSeconds startedAt } } }`, { name });
            const rebuild = body.data?.projectionStatus.rebuild;
            expect(body.data?.projectionStatus.state).not.toBe('NEEDS_REBUILD');
            if (rebuild?.id === id) seen.push(rebuild);
            if (rebuild?.id === id && rebuild.state === 'SWITCHED') break;
            if (rebuild?.id === id && (rebuild.state === 'FAILED' || rebuild.state === 'INTERRUPTED')) throw new Error(`rebuild ${rebuild.state}: ${JSON.stringify(rebuild)}`);
            if (Date.now() > deadline) throw new Error(`the rebuild of ${name} did not switch: ${JSON.stringify(seen.at(-1))}`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          // A few more rounds after the switch, then stop.
          for (let i = 0; i < 3; i++) await writer.step();
          const during = queries - before;
          running = false;
          await Promise.all([...readers, writing]);
          expect(failures, failures.slice(0, 3).join('\n')).toEqual([]);
          expect(during, 'queries answered while the rebuild ran').toBeGreaterThan(0);
          expect(transportRetries, 'requests sent again after a reset socket').toBeLessThanOrEqual(3);
          expect(seen.at(-1)).toMatchObject({ state: 'SWITCHED' });
          expect(BigInt(seen.at(-1)!.done)).toBeGreaterThanOrEqual(last);

          // From scratch, in a schema of its own, on the same log: every table equal, row for row.
          const schema = `fresh_${name}_${randomUUID().slice(0, 6)}`;
          schemas.push(schema);
          const fresh = new ProjectionRunner({ store: ledger.store, sql: ledger.sql, schema, projections: [projection], logger: silent, batchSize: 500 });
          await fresh.start();
          try {
            const mine = writer.last();
            for (let attempt = 0; ; attempt++) {
              // Our own appends first (on the server the head may trail them), then a moment when both stand at the head.
              await waitFor(async () => (await checkpointOf(ledger.projections, name)) >= mine && (await checkpointOf(fresh, name)) >= mine, `${name} at ${mine}`);
              const head = await ledger.store.headPosition();
              await waitFor(async () => (await checkpointOf(ledger.projections, name)) >= head && (await checkpointOf(fresh, name)) >= head, `${name} at the head ${head}`);
              const rebuilt = ledger.projections.tables(projection);
              const scratch = fresh.tables(projection);
              const tables = await Promise.all(readModelTables(projection).map(async (t) => [t, await dump(rebuilt, t), await dump(scratch, t)] as const));
              const stable = (await ledger.store.headPosition()) === head && (await checkpointOf(ledger.projections, name)) === (await checkpointOf(fresh, name));
              if (!stable && attempt < 10) continue;
              for (const [table, a, b] of tables) expect(a, `${name}.${table}`).toEqual(b);
              expect(tables.some(([, a]) => a.length > 0)).toBe(true);
              break;
            }
          } finally {
            await fresh.stop();
          }
          const status = (await ledger.projections.status()).find((p) => p.name === name)!;
          expect(status).toMatchObject({ state: 'live', failure: null, rebuild: { id, state: 'switched' } });
        }
      },
      240_000,
    );
  });
}

async function checkpointOf(runner: { status(): Promise<{ name: string; checkpoint: bigint; failure: unknown }[]> }, name: string): Promise<bigint> {
  const status = (await runner.status()).find((p) => p.name === name)!;
  if (status.failure) throw new Error(`${name} failed: ${JSON.stringify(status.failure, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
  return status.checkpoint;
}

/** The tables that hold the read model (billing's writer_stamp holds a cache token, different in every process). */
function readModelTables(projection: Projection): readonly string[] {
  return projection.name === 'billing' ? BILLING_READ_MODEL_TABLES : projection.tables;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

rebuildSuite('PGlite', () => null);

describe.skipIf(postgresUrl === null)('on the PostgreSQL server', () => {
  rebuildSuite('PostgreSQL server', () => postgresUrl!);
});
