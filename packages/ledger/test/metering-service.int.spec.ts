import { randomUUID } from 'node:crypto';
import { formatInstant, MeterAlreadyRegistered, MeterReadingFromFuture, parseInstant, UnknownMeter, UnknownNode, UnknownSite } from '@v2g/domain';
import { openPglite, openPostgresStore, SchemaRegistry, type EventStore, type SqlClient } from '@v2g/event-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandHandler } from '../src/command-handler.ts';
import { GridService } from '../src/index.ts';
import { MeteringService } from '../src/index.ts';

/** Node meters on PGlite: registration checks the site and the node; `at` is the service's clock when left out. */
describe('MeteringService (PGlite)', () => {
  let sql: SqlClient;
  let store: EventStore;
  let metering: MeteringService;
  let grid: GridService;
  const now = parseInstant('now', '2026-11-27T12:00:00Z');

  beforeAll(async () => {
    sql = await openPglite(undefined);
    store = await openPostgresStore({ sql, registry: SchemaRegistry.fromDirectory(), pollMs: 100 });
    const commands = new CommandHandler(store);
    metering = new MeteringService(store, commands, { clock: () => now });
    grid = new GridService(store, commands, { clock: () => now });
  });
  afterAll(async () => {
    await store?.close();
    await sql?.close();
  });

  const ctx = () => ({ commandId: randomUUID(), actor: 'test' });
  const thrown = async (run: () => Promise<unknown>) =>
    run().then(
      () => undefined,
      (error: unknown) => error,
    );

  async function site(): Promise<string> {
    const siteId = `site-${randomUUID().slice(0, 8)}`;
    await grid.site({ type: 'RegisterSite', siteId, name: 'Depot', importLimitW: '100000', exportLimitW: '0' }, ctx());
    await grid.site({ type: 'AddNode', siteId, nodeId: 'f1', parentId: siteId, kind: 'feeder', name: 'F1', importLimitW: '22000', exportLimitW: '0', charger: null }, ctx());
    return siteId;
  }

  it('registers a meter at an existing node, refusing an unknown site or node and a second registration', async () => {
    const siteId = await site();
    const meterId = `${siteId}-load`;
    expect(await thrown(() => metering.registerMeter({ meterId, siteId: `${siteId}-x`, nodeId: 'f1', measures: 'building_load' }, ctx()))).toBeInstanceOf(UnknownSite);
    expect(await thrown(() => metering.registerMeter({ meterId, siteId, nodeId: 'f9', measures: 'building_load' }, ctx()))).toMatchObject({
      constructor: UnknownNode,
      details: { siteId, nodeId: 'f9' },
    });
    expect((await metering.loadMeter(meterId)).meter).toBeNull();

    const context = ctx();
    const registered = await metering.registerMeter({ meterId, siteId, nodeId: siteId, measures: 'building_load' }, context);
    expect(registered.events).toEqual([{ type: 'MeterRegistered', data: { meterId, siteId, nodeId: siteId, measures: 'building_load', registeredAt: formatInstant(now) } }]);
    // A retry under the same command id returns the first result and writes nothing.
    const retried = await metering.registerMeter({ meterId, siteId, nodeId: siteId, measures: 'building_load' }, context);
    expect(retried).toMatchObject({ events: [], result: { duplicate: true, nextExpectedVersion: 1 } });
    expect(await thrown(() => metering.registerMeter({ meterId, siteId, nodeId: 'f1', measures: 'generation' }, ctx()))).toBeInstanceOf(MeterAlreadyRegistered);
    expect(await metering.loadMeter(meterId)).toMatchObject({ version: 1, meter: { siteId, nodeId: siteId, measures: 'building_load' } });
  });

  it('records readings with `at` defaulting to the clock, and refuses an unknown meter', async () => {
    const siteId = await site();
    const meterId = `${siteId}-pv`;
    const reading = (occurredAt: string, energyExportWh: string) =>
      metering.meter({ type: 'RecordMeterReading', meterId, occurredAt, energyImportWh: '0', energyExportWh, powerW: null }, ctx());
    expect(await thrown(() => reading('2026-11-27T11:00Z', '1'))).toBeInstanceOf(UnknownMeter);
    await metering.registerMeter({ meterId, siteId, nodeId: 'f1', measures: 'generation' }, ctx());
    expect((await reading('2026-11-27T12:05Z', '10')).events).toHaveLength(1);
    expect(await thrown(() => reading('2026-11-27T12:05:00.001Z', '11'))).toMatchObject({ constructor: MeterReadingFromFuture, details: { at: '2026-11-27T12:00:00.000Z' } });
    expect((await reading('2026-11-27T12:05Z', '10')).events).toEqual([]);
    expect((await metering.loadMeter(meterId)).version).toBe(2);
  });
});
