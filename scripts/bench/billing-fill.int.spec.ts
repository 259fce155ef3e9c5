import { openPostgresStore, SchemaRegistry, type SqlClient } from '@v2g/event-store';
import { ProjectionRunner } from '@v2g/ledger';
import { billingProjection } from '@v2g/projection-billing';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { inFreshPglite, inFreshServerSchema } from '@v2g/testing';
import { fillBilling } from '@v2g/testing/workloads';

/**
 * The billing bench's fill, small: it appends valid events (the store checks them against
 * schemas/events), and a rebuild of the billing projection from them holds exactly the energy the
 * readings count.
 */
const url = inject('postgresUrl');

async function fillAndRebuild(sql: SqlClient, schema: string): Promise<void> {
  const store = await openPostgresStore({ sql, schema, registry: SchemaRegistry.fromDirectory(), pollMs: 50 });
  try {
    const progress: number[] = [];
    const fill = await fillBilling({ store, readings: 3_000, sessions: 30, chunk: 25, concurrency: 3, seed: 7, onProgress: (appended) => progress.push(appended) });
    // A fresh schema numbers its events from 1. On the server the log shows them once every older
    // transaction on the server has ended (other test files run beside this one): wait for that.
    const readableBy = Date.now() + 60_000;
    while ((await store.headPosition()) < BigInt(fill.events)) {
      if (Date.now() > readableBy) throw new Error(`the fill's ${fill.events} events were not readable within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fill.events).toBe((await store.readAll()).length);
    expect(fill.meterEvents).toBeGreaterThanOrEqual(3_000);
    expect(fill.late + fill.duplicates + fill.corrections).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThan(10);

    const runner = new ProjectionRunner({ store, sql, schema: `${schema}_rm`, projections: [billingProjection], logger: pino({ level: 'silent' }), batchSize: 700 });
    const head = await store.headPosition();
    await runner.start();
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const [status] = await runner.status();
        if (status!.failure) throw new Error(`billing projection failed: ${status!.failure.message}`);
        if (status!.checkpoint >= head) break;
        if (Date.now() > deadline) throw new Error('billing rebuild stuck');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await runner.stop();
    }
    const table = runner.tables(billingProjection);
    const { rows } = await sql.query<{ import_wh: string; export_wh: string; sessions: string }>(
      `SELECT trim_scale(sum(import_wh))::text AS import_wh, trim_scale(sum(export_wh))::text AS export_wh,
              (SELECT count(*) FROM ${table('sessions')} WHERE stopped_at IS NOT NULL)::text AS sessions
         FROM ${table('session_intervals')}`,
    );
    expect(rows[0]).toEqual({ import_wh: fill.importWh, export_wh: fill.exportWh, sessions: '30' });
  } finally {
    await store.close();
  }
}

describe('the billing bench fill', () => {
  // 3,000 readings appended and rebuilt: a few seconds here, many times that under load.
  it('fills PGlite with valid events that a rebuild accounts for to the mWh', () => inFreshPglite('bench_fill', fillAndRebuild), 240_000);

  it.skipIf(url === null)(
    'fills the PostgreSQL server the same way',
    () => inFreshServerSchema(url!, 'billing_fill', { applicationName: 'v2g-test-billing-fill', suffixes: ['_rm'] }, fillAndRebuild),
    240_000,
  );
});
