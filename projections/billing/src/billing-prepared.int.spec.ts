import { openPglite, openPostgresStore, SchemaRegistry, type RecordedEvent, type SqlClient } from '@v2g/event-store';
import { BatchApplier, tableNames, type BatchBookkeeping, type Projection, type TableNames } from '@v2g/read-model';
import { dumpTable } from '@v2g/testing';
import { fillBilling } from '@v2g/testing/workloads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILLING_READ_MODEL_TABLES, billingProjection } from './billing-projection.ts';

/**
 * The batch routine plans billing's next batch while the one before commits (prepareBatch: the
 * collect, the read-free statements, and the fast path from LatestPoints). These builds prove that
 * plan exact: pipelined, event by event, and pipelined with another writer stamping the tables
 * between two batches (the plan made from the cache must then be dropped) all leave the same rows.
 */
describe('billing: batches planned ahead (PGlite)', () => {
  let sql: SqlClient;
  let events: RecordedEvent[];
  const nothingToBook: BatchBookkeeping = { begin: async (_tx, batch) => batch, end: async () => {} };

  beforeAll(async () => {
    sql = await openPglite(undefined);
    const store = await openPostgresStore({ sql, schema: 'v2g', registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
    // Late, doubled and corrected readings and resets among them: both the fast and the exact path.
    await fillBilling({ store, readings: 3000, sessions: 12, chunk: 5, concurrency: 2 });
    events = await store.readAll();
  }, 120_000);
  afterAll(async () => sql?.close());

  async function build(schema: string, run: (table: TableNames) => Promise<void>): Promise<Map<string, string[]>> {
    const table = tableNames(schema, billingProjection);
    await sql.transaction(async (tx) => {
      await tx.query(`CREATE SCHEMA ${schema}`);
      await billingProjection.setup(tx, table);
    });
    await run(table);
    const dump = new Map<string, string[]>();
    for (const logical of BILLING_READ_MODEL_TABLES) dump.set(logical, await dumpTable(sql, table, logical));
    billingProjection.forget?.(table);
    return dump;
  }

  /** Batches of `size`, each handed over while the one before is applied; counts the meter plans used. */
  async function pipelined(table: TableNames, size: number, between?: () => Promise<void>): Promise<{ plans: number; meterPlans: number }> {
    const counts = { plans: 0, meterPlans: 0 };
    const counting: Projection = {
      ...billingProjection,
      applyBatch(tx, batch, t, prepared) {
        if (prepared !== undefined) {
          counts.plans += 1;
          if ((prepared as { meter: unknown }).meter) counts.meterPlans += 1;
        }
        return billingProjection.applyBatch!(tx, batch, t, prepared);
      },
    };
    const applier = new BatchApplier({ sql, projection: counting, table, bookkeeping: nothingToBook });
    const batches: RecordedEvent[][] = [];
    for (let i = 0; i < events.length; i += size) batches.push(events.slice(i, i + size));
    for (const [i, batch] of batches.entries()) {
      const applying = applier.apply(batch);
      const next = batches[i + 1];
      if (next) applier.prepare(next);
      expect((await applying).failure).toBeNull();
      if (between && i % 2 === 0) await between();
    }
    return counts;
  }

  it('leaves the rows event by event leaves, with the plans used; and drops a plan once someone else wrote', async () => {
    const perEvent = await build('per_event', async (table) => {
      await sql.transaction(async (tx) => {
        for (const e of events) await billingProjection.apply(tx, e, table);
      });
    });
    let used = { plans: 0, meterPlans: 0 };
    const ahead = await build('ahead', async (table) => {
      used = await pipelined(table, 40);
    });
    // Every batch after the first came with its plan, and most of them with a fast path planned from the cache.
    const batches = Math.ceil(events.length / 40);
    expect(used.plans).toBe(batches - 1);
    expect(used.meterPlans).toBeGreaterThan(batches / 2);
    let stamped = 0;
    const otherWriter = await build('other_writer', async (table) => {
      await pipelined(table, 40, async () => {
        stamped += 1;
        await sql.query(`UPDATE ${table('writer_stamp')} SET token = 'another process'`);
      });
    });
    expect(stamped).toBeGreaterThan(10);
    for (const logical of BILLING_READ_MODEL_TABLES) {
      expect(perEvent.get(logical)!.length, logical).toBeGreaterThan(0);
      expect(ahead.get(logical), logical).toEqual(perEvent.get(logical));
      expect(otherWriter.get(logical), logical).toEqual(perEvent.get(logical));
    }
  }, 300_000);

  it('does not use a plan made from a cache the tables do not hold (the batch before it rolled back)', async () => {
    const batches: RecordedEvent[][] = [];
    for (let i = 0; i < events.length; i += 40) batches.push(events.slice(i, i + 40));
    const k = 10;
    const apply = (table: TableNames, batch: readonly RecordedEvent[], prepared?: unknown) => sql.transaction((tx) => billingProjection.applyBatch!(tx, batch, table, prepared));
    let planned: unknown;
    const skipped = await build('rolled_back', async (table) => {
      for (const batch of batches.slice(0, k)) await apply(table, batch);
      // Batch k applied, the next one planned from the cache it left, then rolled back.
      await expect(
        sql.transaction(async (tx) => {
          await billingProjection.applyBatch!(tx, batches[k]!, table);
          planned = await billingProjection.prepareBatch!(batches[k + 1]!, table);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      await apply(table, batches[k + 1]!, planned);
    });
    // The plan did assume batch k (a fast path from the cache it left): using it would be wrong.
    expect((planned as { meter: unknown }).meter).not.toBeNull();
    const reference = await build('reference', async (table) => {
      for (const batch of batches.slice(0, k)) await apply(table, batch);
      await apply(table, batches[k + 1]!);
    });
    for (const logical of BILLING_READ_MODEL_TABLES) expect(skipped.get(logical), logical).toEqual(reference.get(logical));
  }, 300_000);
});
