import { randomUUID } from 'node:crypto';
import { openPglite, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { ProjectionRunner, tableNames, type ProjectionStatus, type TableNames } from '@v2g/read-model';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueProjection, countStreams, eventTypeCounts, findStream, listStreams } from './catalogue.ts';

describe('stream catalogue projection (PGlite)', () => {
  let sql: SqlClient;
  let store: EventStore;
  let runner: ProjectionRunner;
  let table: TableNames;

  beforeAll(async () => {
    sql = await openPglite(undefined);
    store = await openPostgresStore({ sql, registry: SchemaRegistry.fromDirectory(), pollMs: 100 });
    runner = new ProjectionRunner({ store, sql, schema: 'v2g', projections: [catalogueProjection], logger: pino({ level: 'silent' }) });
    await runner.start();
    table = runner.tables(catalogueProjection);
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await sql?.close();
  });

  async function until(check: (s: ProjectionStatus) => boolean): Promise<ProjectionStatus> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [status] = await runner.status();
      if (check(status!)) return status!;
      if (Date.now() > deadline) throw new Error(`catalogue never got there: ${status?.state} at ${status?.checkpoint}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const append = (streamId: string, type: 'SiteRegistered' | 'SiteRenamed', siteId: string, name: string) =>
    store.append(streamId, [type === 'SiteRegistered' ? { type, data: { siteId, name, importLimitW: '1000', exportLimitW: '0' } } : { type, data: { siteId, name } }], {
      expectedVersion: 'any',
      commandId: randomUUID(),
      actor: 'test',
    });

  it('is live on an empty log', async () => {
    expect(await until((s) => s.state === 'live')).toMatchObject({ checkpoint: 0n, failure: null });
    expect(await countStreams(sql, table)).toBe(0n);
  });

  it('keeps each stream with its version, first and last event, and counts events per type', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `cat${i}`);
    for (const id of ids) await append(`site-${id}`, 'SiteRegistered', id, `Site ${id}`);
    await append('site-cat1', 'SiteRenamed', 'cat1', 'Renamed once');
    const last = await append('site-cat1', 'SiteRenamed', 'cat1', 'Renamed twice');
    await until((s) => s.checkpoint >= last.lastPosition!);

    const cat1 = await findStream(sql, table, 'site-cat1');
    expect(cat1).toMatchObject({ streamId: 'site-cat1', category: 'site', version: 3, lastEventType: 'SiteRenamed', lastPosition: last.lastPosition });
    const [first] = await store.readStream('site-cat1');
    expect(cat1).toMatchObject({ firstPosition: first!.globalPosition, firstRecordedAt: first!.metadata.recordedAt });
    expect(await findStream(sql, table, 'site-nope')).toBeNull();
    expect(await eventTypeCounts(sql, table)).toEqual([
      { type: 'SiteRegistered', count: 5n, lastPosition: (await store.readStream('site-cat4'))[0]!.globalPosition },
      { type: 'SiteRenamed', count: 2n, lastPosition: last.lastPosition },
    ]);
  });

  it('pages through streams in creation order, by category', async () => {
    await append('other-1', 'SiteRegistered', 'o1', 'Other');
    const last = await append('site-cat5', 'SiteRegistered', 'cat5', 'Site cat5');
    await until((s) => s.checkpoint >= last.lastPosition!);

    expect(await countStreams(sql, table)).toBe(7n);
    expect(await countStreams(sql, table, 'site')).toBe(6n);
    const pages: string[][] = [];
    let after: bigint | undefined;
    for (;;) {
      const page = await listStreams(sql, table, { first: 4, category: 'site', ...(after === undefined ? {} : { afterPosition: after }) });
      pages.push(page.streams.map((s) => s.streamId));
      if (!page.hasNextPage) break;
      after = page.streams.at(-1)!.firstPosition;
    }
    expect(pages).toEqual([
      ['site-cat0', 'site-cat1', 'site-cat2', 'site-cat3'],
      ['site-cat4', 'site-cat5'],
    ]);
  });

  it('leaves the same rows in one batch, event by event, and in batches of three', async () => {
    await append('site-cat1', 'SiteRenamed', 'cat1', 'Renamed thrice');
    const events = await store.readAll({ limit: 1000 });
    const dump = async (t: TableNames) =>
      Promise.all(
        catalogueProjection.tables.map(async (name) => (await sql.query<{ line: string }>(`SELECT x::text AS line FROM ${t(name)} x ORDER BY 1`)).rows.map((r) => r.line)),
      );
    const build = async (schema: string, batches: (typeof events)[]) => {
      const t = tableNames(schema, catalogueProjection);
      await sql.query(`CREATE SCHEMA ${schema}`);
      await sql.transaction((tx) => catalogueProjection.setup(tx, t));
      for (const batch of batches) await sql.transaction((tx) => catalogueProjection.applyBatch!(tx, batch, t));
      return dump(t);
    };
    const byEvent = tableNames('cat_by_event', catalogueProjection);
    await sql.query('CREATE SCHEMA cat_by_event');
    await sql.transaction((tx) => catalogueProjection.setup(tx, byEvent));
    for (const event of events) await sql.transaction((tx) => catalogueProjection.apply(tx, event, byEvent));
    const expected = await dump(byEvent);

    expect(events.length).toBeGreaterThan(8);
    expect(expected[0]!.length).toBe(7);
    expect(await build('cat_one_batch', [events])).toEqual(expected);
    expect(
      await build(
        'cat_by_three',
        Array.from({ length: Math.ceil(events.length / 3) }, (_, i) => events.slice(3 * i, 3 * i + 3)),
      ),
    ).toEqual(expected);
  });
});
