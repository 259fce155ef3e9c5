import { fromMilli, sessionEnergyIn, type InputEvent } from '@v2g/domain';
import type { RecordedEvent } from '@v2g/event-store';
import { tableNames, type TableNames } from '@v2g/read-model';
import { pgliteForFile } from '@v2g/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyBillingEvents, billingProjection } from './billing-projection.ts';

/**
 * Settlement reads a session's energy with the domain's sessionEnergyIn, straight from the
 * session's events; billing keeps it in `session_intervals`. They must agree to the mWh and on the
 * events behind each interval, whatever order the readings arrived in and however the projection
 * batched them (its fast path and its exact path).
 */
describe('sessionEnergyIn equals the billing projection session_intervals (PGlite)', () => {
  const pglite = pgliteForFile();
  let run = 0;

  const Q = 15 * 60_000;
  const T0 = Date.parse('2026-11-28T10:00:00.000Z');
  const at = (minute: number, second = 0) => new Date(T0 + minute * 60_000 + second * 1000).toISOString();

  class Log {
    readonly events: InputEvent[] = [];
    append(sessionId: string, type: string, data: Record<string, unknown>): void {
      const position = String(this.events.length + 1);
      this.events.push({ streamId: `session-${sessionId}`, streamVersion: this.events.length + 1, position, type, data: { sessionId, ...data }, recordedAt: at(200), hash: 'x' });
    }
    plugIn(sessionId: string, minute: number, importWh: string, exportWh: string): void {
      this.append(sessionId, 'SessionPluggedIn', {
        siteId: 'depot',
        connectorId: 'c1',
        vehicleId: 'ev',
        customerId: 'cust',
        fleetId: null,
        tier: 'normal',
        pluggedInAt: at(minute),
        departureAt: at(600),
        energyNeededWh: '1000',
        targetSocPercent: null,
        batteryCapacityWh: null,
        socPercent: null,
        minPowerW: '0',
        maxPowerW: '11000',
        v2g: null,
        meterStartImportWh: importWh,
        meterStartExportWh: exportWh,
      });
    }
    meter(
      sessionId: string,
      type: 'SessionMeterReadingRecorded' | 'SessionMeterReadingCorrected' | 'SessionMeterReset',
      occurredAt: string,
      importWh: string,
      exportWh: string,
    ): void {
      const extra =
        type === 'SessionMeterReadingRecorded'
          ? { powerW: null, socPercent: null }
          : type === 'SessionMeterReadingCorrected'
            ? { powerW: null, socPercent: null, reason: 'r' }
            : { reason: 'r' };
      this.append(sessionId, type, { occurredAt, energyImportWh: importWh, energyExportWh: exportWh, ...extra });
    }
  }

  const recorded = (events: readonly InputEvent[]): RecordedEvent[] =>
    events.map((e) => ({
      streamId: e.streamId,
      streamVersion: e.streamVersion,
      globalPosition: BigInt(e.position),
      type: e.type,
      schemaVersion: 1,
      data: e.data,
      metadata: { commandId: `c${e.position}`, correlationId: 'c', causationId: 'c', actor: 'test', occurredAt: e.recordedAt, recordedAt: e.recordedAt },
      hash: e.hash,
    }));

  type Row = { importWh: string; exportWh: string; justifiedBy: string[] };

  /** Projects the events in batches of the given sizes; returns the session's rows by interval start (ms). */
  async function project(events: readonly InputEvent[], sessionId: string, batchSizes: number[]): Promise<Map<number, Row>> {
    const sql = pglite();
    const schema = `billing_energy_${process.pid}_${run++}`;
    const table: TableNames = tableNames(schema, billingProjection);
    await sql.query(`CREATE SCHEMA ${schema}`);
    await sql.transaction((tx) => billingProjection.setup(tx, table));
    const all = recorded(events);
    for (let i = 0, b = 0; i < all.length; b++) {
      const size = Math.max(1, batchSizes[b % batchSizes.length]!);
      const batch = all.slice(i, i + size);
      await sql.transaction((tx) => applyBillingEvents(tx, batch, table));
      i += size;
    }
    const { rows } = await sql.query<{ start_ms: string; import_wh: string; export_wh: string; justified_by: string[] }>(
      `SELECT (extract(epoch FROM interval_start) * 1000)::int8::text AS start_ms, trim_scale(import_wh)::text AS import_wh, trim_scale(export_wh)::text AS export_wh,
              justified_by::text[] AS justified_by
         FROM ${table('session_intervals')} WHERE session_id = $1 ORDER BY interval_start`,
      [sessionId],
    );
    await sql.query(`DROP SCHEMA ${schema} CASCADE`);
    return new Map(rows.map((r) => [Number(r.start_ms), { importWh: r.import_wh, exportWh: r.export_wh, justifiedBy: r.justified_by }]));
  }

  /** Every interval from `fromMs` to `toMs`: the projection's row (none: zero, no events) against sessionEnergyIn. */
  function compare(rows: Map<number, Row>, events: readonly InputEvent[], fromMs: number, toMs: number): void {
    for (const startMs of rows.keys()) expect(startMs >= fromMs && startMs < toMs, `row at ${new Date(startMs).toISOString()} inside the range compared`).toBe(true);
    for (let s = fromMs; s < toMs; s += Q) {
      const row = rows.get(s) ?? { importWh: '0', exportWh: '0', justifiedBy: [] };
      expect(sessionEnergyIn(events, s, s + Q), new Date(s).toISOString()).toEqual(row);
    }
  }

  it('agrees on a realistic session: V2G export, readings late and sent twice, a correction, a meter reset', async () => {
    const log = new Log();
    log.plugIn('r', 2, '1000', '500');
    log.meter('r', 'SessionMeterReadingRecorded', at(7), '2000', '500');
    log.meter('r', 'SessionMeterReadingRecorded', at(22), '2000', '2500.5');
    log.meter('r', 'SessionMeterReadingRecorded', at(14, 30), '2000', '1200'); // late
    log.meter('r', 'SessionMeterReadingRecorded', at(7), '2000', '500'); // sent again
    log.meter('r', 'SessionMeterReadingCorrected', at(22), '2000.25', '2600'); // corrected
    log.meter('r', 'SessionMeterReadingRecorded', at(50), '2100', '5000');
    log.meter('r', 'SessionMeterReset', at(52), '0', '0'); // meter replaced
    log.meter('r', 'SessionMeterReadingRecorded', at(70), '10', '3000.333');
    log.meter('r', 'SessionMeterReadingRecorded', at(61), '5', '1000'); // late, after the reset
    log.meter('r', 'SessionMeterReadingRecorded', at(1), '1000', '500'); // dated before the plug-in
    for (const batches of [[1], [3, 1, 2], [100]]) {
      const rows = await project(log.events, 'r', batches);
      expect(rows.size).toBeGreaterThan(3);
      compare(rows, log.events, T0 - Q, T0 + 6 * Q);
    }
  });

  it('agrees for random sessions, arrival orders and batches (property)', async () => {
    type Op = {
      kind: 'SessionMeterReadingRecorded' | 'SessionMeterReadingCorrected' | 'SessionMeterReset';
      minute: number;
      second: number;
      importMilli: bigint;
      exportMilli: bigint;
    };
    const opArb: fc.Arbitrary<Op> = fc.record({
      kind: fc.constantFrom<Op['kind']>(
        'SessionMeterReadingRecorded',
        'SessionMeterReadingRecorded',
        'SessionMeterReadingRecorded',
        'SessionMeterReadingCorrected',
        'SessionMeterReset',
      ),
      minute: fc.integer({ min: -5, max: 90 }),
      second: fc.constantFrom(0, 0, 0, 30),
      importMilli: fc.bigInt({ min: 0n, max: 30_000_000n }),
      exportMilli: fc.bigInt({ min: 0n, max: 30_000_000n }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), async (ops, batchSizes) => {
        const log = new Log();
        log.plugIn('p', 0, '100', '0');
        for (const op of ops) log.meter('p', op.kind, at(op.minute, op.second), fromMilli(op.importMilli), fromMilli(op.exportMilli));
        const rows = await project(log.events, 'p', batchSizes);
        compare(rows, log.events, T0 - Q, T0 + 7 * Q);
      }),
      { numRuns: 40 },
    );
  }, 180_000);
});
