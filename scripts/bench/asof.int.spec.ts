import { buildInvoice, monthRange } from '@v2g/domain';
import { openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { ProjectionRunner, replayProjection } from '@v2g/ledger';
import { billingInput, billingInputAsOf, billingProjection } from '@v2g/projection-billing';
import { settlementProjection, settlementStatement, statementInForceAt } from '@v2g/projection-settlement';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { inFreshPglite, inFreshServerSchema } from '@v2g/testing';
import { prng } from '@v2g/testing/workloads';
import { ASOF_ZONE, fillAsOf, type AsOfFillResult } from './lib/asof-fill.ts';

/**
 * Differential: the indexed as-of answers (billing's history tables, settlement's statements by
 * recorded_at) equal the reference, a replay of the whole log as of the same instant, for random
 * instants over a log with every kind of billing history (late, doubled and corrected readings,
 * meter resets, stops, tariff switches and re-definitions, price revisions, statements settled
 * again). The writer's clock jitters by up to ±25 ms, so recordedAt does not follow positions:
 * the cut is event by event, as the replay's. Every account's invoice (with and without
 * pricesKnownAt) and every period's statement (latest and each revision) is compared at each instant.
 */
const url = inject('postgresUrl');
const MONTH = '2026-11';

async function differential(sql: SqlClient, schema: string): Promise<void> {
  const random = prng(0xa50f);
  // A writer whose clock jitters: recordedAt goes back and forth by a few ms between appends.
  const clock = () => new Date(Date.now() + Math.round((random() - 0.5) * 50));
  const store: EventStore = await openPostgresStore({ sql, schema, registry: SchemaRegistry.fromDirectory(), pollMs: 50, clock });
  const runner = new ProjectionRunner({
    store,
    sql,
    schema: `${schema}_rm`,
    projections: [billingProjection, settlementProjection],
    logger: pino({ level: 'silent' }),
    batchSize: 500,
  });
  try {
    const fill: AsOfFillResult = await fillAsOf({ store, events: 2_500, sessions: 24, chunk: 20, concurrency: 3, seed: 11 });
    const readableBy = Date.now() + 60_000;
    while ((await store.headPosition()) < BigInt(fill.events)) {
      if (Date.now() > readableBy) throw new Error(`the fill's ${fill.events} events were not readable within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const head = await store.headPosition();
    await runner.start();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const statuses = await runner.status();
      const failed = statuses.find((s) => s.failure);
      if (failed) throw new Error(`${failed.name} failed: ${failed.failure!.message}`);
      if (statuses.every((s) => s.checkpoint >= head)) break;
      if (Date.now() > deadline) throw new Error('projections did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const billing = runner.tables(billingProjection);
    const settlement = runner.tables(settlementProjection);

    const stamps = (await store.readAll()).map((e) => Date.parse(e.metadata.recordedAt));
    const inversions = stamps.filter((t, i) => i > 0 && t < stamps[i - 1]!).length;
    expect(inversions, 'the clock jitter reorders recordedAt against positions').toBeGreaterThan(10);
    expect(fill.periods.some((p) => p.revisions > 1)).toBe(true);
    const sorted = [...stamps].sort((a, b) => a - b);
    const accounts = [...fill.fleets, ...fill.customers];
    const { startMs, endMs } = monthRange(MONTH);
    const range = { from: new Date(startMs).toISOString(), to: new Date(endMs).toISOString() };

    let nonEmpty = 0;
    let differentFromNow = 0;
    await fc.assert(
      fc.asyncProperty(
        // An instant at (or 1 ms either side of) an event's recordedAt, or before the log, or after it.
        fc.oneof(
          { weight: 8, arbitrary: fc.tuple(fc.integer({ min: 0, max: sorted.length - 1 }), fc.integer({ min: -1, max: 1 })).map(([i, d]) => sorted[i]! + d) },
          fc.constant(sorted[0]! - 1000),
          fc.constant(sorted.at(-1)! + 1000),
        ),
        fc.option(fc.integer({ min: 0, max: sorted.length - 1 }), { nil: null }),
        async (asOfMs, pricesIndex) => {
          const asOf = new Date(asOfMs).toISOString();
          const pricesKnownAt = pricesIndex === null ? undefined : new Date(sorted[pricesIndex]!).toISOString();
          const replayBilling = await replayProjection({ store, sql, projection: billingProjection, asOf: { instant: asOf } });
          const replaySettlement = await replayProjection({ store, sql, projection: settlementProjection, asOf: { instant: asOf } });
          try {
            for (const accountId of accounts) {
              const options = { ...range, ...(pricesKnownAt === undefined ? {} : { pricesKnownAt }) };
              const expected = await billingInput(sql, replayBilling.tables, accountId, options);
              const actual = await billingInputAsOf(sql, billing, accountId, { ...options, asOf });
              expect(actual, `${accountId} as of ${asOf}${pricesKnownAt ? ` prices known at ${pricesKnownAt}` : ''}`).toEqual(expected);
              const invoice = buildInvoice(actual, accountId, MONTH);
              expect(invoice).toEqual(buildInvoice(expected, accountId, MONTH));
              if (invoice.lines.length > 0) nonEmpty++;
              const now = buildInvoice(await billingInput(sql, billing, accountId, range), accountId, MONTH);
              if (JSON.stringify(now) !== JSON.stringify(invoice)) differentFromNow++;
            }
            for (const { periodStart, revisions } of fill.periods) {
              const latest = await settlementStatement(sql, replaySettlement.tables, ASOF_ZONE, periodStart);
              const inForce = await statementInForceAt(sql, settlement, ASOF_ZONE, periodStart, asOf);
              expect(inForce?.statement ?? null, `${periodStart} as of ${asOf}`).toEqual(latest?.statement ?? null);
              if (latest) expect(inForce!.position.toString()).toBe(latest.position);
              for (let revision = 1; revision <= revisions; revision++) {
                const then = await settlementStatement(sql, replaySettlement.tables, ASOF_ZONE, periodStart, revision);
                expect((await statementInForceAt(sql, settlement, ASOF_ZONE, periodStart, asOf, revision))?.statement ?? null).toEqual(then?.statement ?? null);
              }
            }
          } finally {
            await replayBilling.drop();
            await replaySettlement.drop();
          }
        },
      ),
      { numRuns: 10, seed: 20261207, endOnFailure: true },
    );
    // The instants drawn saw invoices with lines, and answers other than today's: the comparison had something to compare.
    expect(nonEmpty).toBeGreaterThan(0);
    expect(differentFromNow).toBeGreaterThan(0);
  } finally {
    await runner.stop();
    await store.close();
  }
}

describe('as-of answers from the read models equal a replay of the log as of the same instant (differential)', () => {
  it('on PGlite', () => inFreshPglite('asof_diff', differential), 600_000);

  it.skipIf(url === null)(
    'on the PostgreSQL server',
    () => inFreshServerSchema(url!, 'asof', { applicationName: 'v2g-test-asof-differential', suffixes: ['_rm'] }, differential),
    600_000,
  );
});
