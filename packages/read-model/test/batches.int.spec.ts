import { randomUUID } from 'node:crypto';
import type { RecordedEvent, SqlClient, SqlExecutor } from '@v2g/event-store';
import { describeOnEachDatabase, type TestDatabase } from '@v2g/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchApplier, quoteIdent, StatementPipeline, tableNames, type BatchBookkeeping, type Projection } from '../src/index.ts';

const event = (position: number, poison = false): RecordedEvent => ({
  streamId: `s-${position % 3}`,
  streamVersion: position,
  globalPosition: BigInt(position),
  type: 'Counted',
  schemaVersion: 1,
  data: { poison },
  metadata: {
    commandId: `c${position}`,
    correlationId: `c${position}`,
    causationId: `c${position}`,
    actor: 'test',
    occurredAt: '2026-01-01T00:00:00.000Z',
    recordedAt: '2026-01-01T00:00:00.000Z',
  },
  hash: '',
});
const range = (from: number, to: number, poisonAt?: number) => Array.from({ length: to - from + 1 }, (_, i) => event(from + i, from + i === poisonAt));
const isPoison = (e: RecordedEvent) => (e.data as { poison: boolean }).poison;

type Plan = { first: bigint; last: bigint };

/**
 * Rows by position. Its batch hook checks that it sees every row (and the checkpoint) of the batch
 * before, sends its INSERT without waiting for it (the routine must), and refuses a poisoned
 * event with a CHECK violation that only shows once the statement has run.
 */
function tracingProjection(name: string, trace: string[]): Projection {
  return {
    name,
    version: 1,
    tables: ['seen'],
    async setup(tx, table) {
      await tx.query(`CREATE TABLE IF NOT EXISTS ${table('seen')} (position bigint PRIMARY KEY CHECK (position > 0), poison boolean NOT NULL CHECK (NOT poison))`);
    },
    async apply(tx, e, table) {
      trace.push(`apply ${e.globalPosition}`);
      await tx.query(`INSERT INTO ${table('seen')} (position, poison) VALUES ($1, $2)`, [e.globalPosition.toString(), isPoison(e)]);
    },
    async applyBatch(tx, events, table, prepared) {
      const plan = prepared as Plan | undefined;
      trace.push(`batch ${events[0]!.globalPosition}-${events.at(-1)!.globalPosition}${plan ? ` with plan ${plan.first}-${plan.last}` : ''}`);
      const { rows } = await tx.query<{ n: string; max: string | null }>(`SELECT count(*)::text AS n, max(position)::text AS max FROM ${table('seen')}`);
      trace.push(`sees ${rows[0]!.n} rows up to ${rows[0]!.max ?? 0}`);
      (tx as StatementPipeline).run(`INSERT INTO ${table('seen')} (position, poison) SELECT * FROM unnest($1::bigint[], $2::boolean[])`, [
        events.map((e) => e.globalPosition.toString()),
        events.map(isPoison),
      ]);
      trace.push(`sent ${events.at(-1)!.globalPosition}`);
    },
    prepareBatch(events) {
      trace.push(`plan ${events[0]!.globalPosition}-${events.at(-1)!.globalPosition}`);
      return { first: events[0]!.globalPosition, last: events.at(-1)!.globalPosition } satisfies Plan;
    },
  };
}

function suite(label: string, open: () => Promise<TestDatabase>) {
  describe(`BatchApplier on ${label}`, () => {
    let sql: SqlClient;
    let schema: string;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ sql, schema, cleanup } = await open());
    });
    afterAll(async () => cleanup?.());

    async function setUp(trace: string[]) {
      const projection = tracingProjection(`p_${randomUUID().slice(0, 8)}`, trace);
      const table = tableNames(schema, projection);
      const checkpoints = `${quoteIdent(schema)}.${quoteIdent(`${projection.name}_checkpoint`)}`;
      await sql.transaction(async (tx) => {
        await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        await projection.setup(tx, table);
        await tx.query(`CREATE TABLE ${checkpoints} (id int PRIMARY KEY, position bigint NOT NULL, failure jsonb)`);
        await tx.query(`INSERT INTO ${checkpoints} VALUES (1, 0, NULL)`);
      });
      const checkpoint = async (tx: SqlExecutor = sql) => BigInt((await tx.query<{ p: string }>(`SELECT position::text AS p FROM ${checkpoints}`)).rows[0]!.p);
      const bookkeeping: BatchBookkeeping = {
        async begin(tx, batch) {
          const at = await checkpoint(tx);
          trace.push(`begin at ${at}`);
          return batch.filter((e) => e.globalPosition > at);
        },
        async end(tx, through, failure) {
          trace.push(`end ${through ?? '-'}${failure ? ` failed at ${failure.position}` : ''}`);
          await tx.query(`UPDATE ${checkpoints} SET position = COALESCE($1::bigint, position), failure = $2::jsonb`, [
            through?.toString() ?? null,
            failure ? JSON.stringify({ position: failure.position.toString() }) : null,
          ]);
        },
      };
      const applier = new BatchApplier({ sql, projection, table, bookkeeping });
      const rows = async () => (await sql.query<{ p: string }>(`SELECT position::text AS p FROM ${table('seen')} ORDER BY position`)).rows.map((r) => Number(r.p));
      return { applier, checkpoint, rows };
    }

    it('plans the next batch once this one is sent, before its checkpoint and commit; hands the plan to exactly those events; each batch sees the one before committed', async () => {
      const trace: string[] = [];
      const { applier, checkpoint, rows } = await setUp(trace);
      const first = applier.apply(range(1, 5));
      // Handed over while the first batch runs: planned only once its statements are sent.
      applier.prepare(range(6, 10));
      expect((await first).through).toBe(5n);
      expect(await checkpoint()).toBe(5n);
      expect(trace).toEqual(['begin at 0', 'batch 1-5', 'sees 0 rows up to 0', 'sent 5', 'plan 6-10', 'end 5']);
      trace.length = 0;
      expect((await applier.apply(range(6, 10))).through).toBe(10n);
      expect(trace).toEqual(['begin at 5', 'batch 6-10 with plan 6-10', 'sees 5 rows up to 5', 'sent 10', 'end 10']);
      trace.length = 0;
      // A plan for other events is not used: the batch is planned by the hook itself.
      applier.prepare(range(16, 20));
      expect((await applier.apply(range(11, 15))).through).toBe(15n);
      expect((await applier.apply(range(16, 20))).through).toBe(20n);
      expect(trace).toEqual([
        'begin at 10',
        'batch 11-15',
        'sees 10 rows up to 10',
        'sent 15',
        'plan 16-20',
        'end 15',
        'begin at 15',
        'batch 16-20 with plan 16-20',
        'sees 15 rows up to 15',
        'sent 20',
        'end 20',
      ]);
      trace.length = 0;
      // Nothing is planned while idle (the state the plan would assume is not there yet).
      applier.prepare(range(21, 25));
      expect(trace).toEqual([]);
      expect((await applier.apply(range(21, 25))).through).toBe(25n);
      expect(trace).toEqual(['begin at 20', 'batch 21-25', 'sees 20 rows up to 20', 'sent 25', 'end 25']);
      expect(await rows()).toEqual(range(1, 25).map((e) => Number(e.globalPosition)));
    });

    it('waits for what the hook sent before the checkpoint: a statement failing after the hook returned rolls the batch back, event by event finds the event, commits those before it with the failure; the plan made after it is dropped', async () => {
      const trace: string[] = [];
      const { applier, checkpoint, rows } = await setUp(trace);
      expect((await applier.apply(range(1, 4))).through).toBe(4n);
      trace.length = 0;
      const failing = applier.apply(range(5, 9, 7));
      applier.prepare(range(10, 12));
      const outcome = await failing;
      expect(outcome.failure?.position).toBe(7n);
      expect(outcome.through).toBe(6n);
      expect(outcome.cause).toBeInstanceOf(Error);
      // The batch hook's transaction never reached its checkpoint; the fallback applied 5, 6, failed on 7, then committed 5 and 6.
      expect(trace).toEqual([
        'begin at 4',
        'batch 5-9',
        'sees 4 rows up to 4',
        'sent 9',
        'plan 10-12',
        'begin at 4',
        'apply 5',
        'apply 6',
        'apply 7',
        'begin at 4',
        'apply 5',
        'apply 6',
        'end 6 failed at 7',
      ]);
      expect(await checkpoint()).toBe(6n);
      expect(await rows()).toEqual([1, 2, 3, 4, 5, 6]);
      trace.length = 0;
      // Fixed (no poison now): the batch from the checkpoint on, without the plan made while the failed batch ran.
      expect((await applier.apply(range(7, 12))).through).toBe(12n);
      expect(trace).toEqual(['begin at 6', 'batch 7-12', 'sees 6 rows up to 6', 'sent 12', 'end 12']);
      trace.length = 0;
      expect((await applier.apply(range(10, 12))).through).toBeUndefined(); // all applied already: nothing to do
      expect(trace).toEqual(['begin at 12']);
      expect(await rows()).toEqual(range(1, 12).map((e) => Number(e.globalPosition)));
    });

    it('refuses a second batch while one is being applied', async () => {
      const { applier } = await setUp([]);
      const first = applier.apply(range(1, 3));
      await expect(applier.apply(range(4, 6))).rejects.toThrow(/still being applied/);
      await first;
    });
  });
}

describeOnEachDatabase('batches', suite);
