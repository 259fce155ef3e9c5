import { apportion, Decimal, formatInstant, sessionDecider, type SessionEvent } from '@v2g/domain';
import type { RecordedEvent } from '@v2g/event-store';
import { tableNames, type TableNames } from '@v2g/read-model';
import { pgliteForFile } from '@v2g/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyBillingEvents, billingProjection } from './billing-projection.ts';

/**
 * The bill must not depend on how the meter's readings reached the ledger. For random readings of
 * a session, delivered in a random order, some twice, in random batches, the billing read model's
 * energy per interval equals the sum of the linear shares of the spans between consecutive
 * readings (as if they had come in order), and adds up exactly to the register difference.
 */
describe('billing read model: any arrival order gives the same intervals (property, PGlite)', () => {
  const pglite = pgliteForFile();
  let run = 0;

  const T0 = Date.parse('2026-11-02T10:00:00.000Z');
  const sessionId = 's-prop';

  const plugIn = sessionDecider.decide(
    {
      type: 'PlugIn',
      sessionId,
      siteId: 'site-prop',
      connectorId: 'cp1-1',
      at: formatInstant(T0),
      vehicleId: 'ev',
      customerId: 'cust-prop',
      fleetId: null,
      tier: 'normal',
      departureAt: formatInstant(T0 + 86_400_000),
      energyNeededWh: '50000',
      targetSocPercent: null,
      batteryCapacityWh: null,
      socPercent: null,
      minPowerW: '1400',
      maxPowerW: '22000',
      v2g: null,
      meterStartImportWh: '1000.5',
      meterStartExportWh: '0',
    },
    sessionDecider.initialState(),
  )[0]!;

  type Reading = { atMs: number; importMilli: bigint; exportMilli: bigint };

  const readingsArb = fc
    .uniqueArray(fc.integer({ min: 1, max: 12 * 60 }), { minLength: 1, maxLength: 8 })
    .chain((minutes) =>
      fc.tuple(
        fc.constant([...minutes].sort((a, b) => a - b)),
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 20_000_000n }), fc.bigInt({ min: 0n, max: 3_000_000n })), { minLength: minutes.length, maxLength: minutes.length }),
        fc.integer({ min: 0, max: 59 }),
      ),
    )
    .map(([minutes, steps, seconds]) => {
      let importMilli = 1_000_500n;
      let exportMilli = 0n;
      return minutes.map((minute, i) => {
        importMilli += steps[i]![0];
        exportMilli += steps[i]![1];
        return { atMs: T0 + minute * 60_000 + (i === 0 ? seconds * 1000 : 0), importMilli, exportMilli };
      });
    });

  const wh = (milli: bigint) => new Decimal(milli.toString()).div(1000).toFixed();

  function readingEvent(r: Reading): SessionEvent {
    return {
      type: 'SessionMeterReadingRecorded',
      data: { sessionId, occurredAt: formatInstant(r.atMs), energyImportWh: wh(r.importMilli), energyExportWh: wh(r.exportMilli), powerW: null, socPercent: null },
    };
  }

  function recorded(events: SessionEvent[]): RecordedEvent[] {
    return events.map((event, i) => ({
      streamId: `session-${sessionId}`,
      streamVersion: i + 1,
      globalPosition: BigInt(i + 1),
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: { commandId: `c${i}`, correlationId: `c${i}`, causationId: `c${i}`, actor: 'test', occurredAt: formatInstant(T0), recordedAt: formatInstant(T0) },
      hash: 'x',
    }));
  }

  async function project(events: RecordedEvent[], batchSizes: number[]): Promise<Map<string, [string, string]>> {
    const sql = pglite();
    const schema = `billing_prop_${run++}`;
    const table: TableNames = tableNames(schema, billingProjection);
    await sql.query(`CREATE SCHEMA ${schema}`);
    await sql.transaction((tx) => billingProjection.setup(tx, table));
    for (let i = 0, b = 0; i < events.length; b++) {
      const size = Math.max(1, batchSizes[b % batchSizes.length]!);
      const batch = events.slice(i, i + size);
      await sql.transaction((tx) => applyBillingEvents(tx, batch, table));
      i += size;
    }
    const { rows } = await sql.query<{ start: Date | string; import_wh: string; export_wh: string }>(
      `SELECT interval_start AS start, trim_scale(import_wh)::text AS import_wh, trim_scale(export_wh)::text AS export_wh
         FROM ${table('session_intervals')} WHERE session_id = $1 ORDER BY interval_start`,
      [sessionId],
    );
    await sql.query(`DROP SCHEMA ${schema} CASCADE`);
    return nonZero(rows.map((r) => [new Date(r.start).toISOString(), r.import_wh, r.export_wh]));
  }

  const nonZero = (rows: [string, string, string][]) =>
    new Map(
      rows
        .filter(([, i, e]) => !new Decimal(i).isZero() || !new Decimal(e).isZero())
        .map(([start, i, e]) => [start, [new Decimal(i).toFixed(), new Decimal(e).toFixed()] as [string, string]]),
    );

  it('equals the in-order linear shares, and adds up to the register difference', async () => {
    await fc.assert(
      fc.asyncProperty(
        readingsArb.chain((readings) =>
          fc.tuple(
            fc.constant(readings),
            fc.shuffledSubarray(readings, { minLength: readings.length, maxLength: readings.length }),
            fc.subarray(readings),
            fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
          ),
        ),
        async ([readings, arrival, resent, batchSizes]) => {
          const events = recorded([plugIn, ...arrival.map(readingEvent), ...resent.map(readingEvent)]);
          const got = await project(events, batchSizes);

          // What in-order delivery means: the linear shares of each span, plug-in → r1 → r2 → …
          const expected = new Map<string, [Decimal, Decimal]>();
          const points = [
            { at: formatInstant(T0), importWh: '1000.5', exportWh: '0' },
            ...readings.map((r) => ({ at: formatInstant(r.atMs), importWh: wh(r.importMilli), exportWh: wh(r.exportMilli) })),
          ];
          for (let i = 1; i < points.length; i++) {
            for (const share of apportion(points[i - 1]!, points[i]!)) {
              const [imp, exp] = expected.get(share.intervalStart) ?? [new Decimal(0), new Decimal(0)];
              expected.set(share.intervalStart, [imp.plus(share.importWh), exp.plus(share.exportWh)]);
            }
          }
          const want = nonZero([...expected].map(([start, [i, e]]) => [start, i.toFixed(), e.toFixed()]));
          expect(got).toEqual(want);

          const total = [...got.values()].reduce((sum, [i]) => sum.plus(i), new Decimal(0));
          expect(total.toFixed()).toBe(new Decimal(wh(readings.at(-1)!.importMilli)).minus('1000.5').toFixed());
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
