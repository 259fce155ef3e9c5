import { randomUUID } from 'node:crypto';
import {
  accountDecider,
  accountStreamId,
  apportion,
  buildInvoice,
  fromMilli,
  pricesDecider,
  pricesStreamId,
  sessionDecider,
  sessionStreamId,
  tariffDecider,
  tariffStreamId,
  toMilli,
  type AccountCommand,
  type Decider,
  type DomainEvent,
  type PlugIn,
  type PricesCommand,
  type RecordSessionMeterReading,
  type SessionCommand,
  type TariffDefinition,
} from '@v2g/domain';
import { type EventStore, type NewEvent, type RecordedEvent } from '@v2g/event-store';
import { ProjectionRunner, type Projection, type TableNames } from '@v2g/read-model';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BILLING_READ_MODEL_TABLES, billingProjection } from './billing-projection.ts';
import { billingInput, sessionIntervals, sessionMeterPoints } from './billing-queries.ts';
import { caughtUp, describeProjectionSuite, expectSameRows, PLUG_IN_DEFAULTS, type ProjectionTarget, type RunningProjection, startProjection } from '@v2g/testing';

const logger = pino({ level: 'silent' });

type Target = ProjectionTarget<'rebuild' | 'perEvent' | 'smallBatches'>;

describeProjectionSuite('billing', ['rebuild', 'perEvent', 'smallBatches'], billingSuite);

const T = (hhmm: string, day = '2026-11-27') => `${day}T${hhmm}${hhmm.length === 5 ? ':00' : ''}.000Z`;
const later = (instant: string, ms = 30_000) => new Date(Date.parse(instant) + ms).toISOString();

/** The per-event path: the same projection without its batch hook. */
const perEventProjection: Projection = { ...billingProjection, applyBatch: undefined };

function billingSuite(open: () => Promise<Target>) {
  let target: Target;
  let store: EventStore;
  let runner: ProjectionRunner;
  let table: TableNames;
  const tag = randomUUID().slice(0, 8);
  const states = new Map<string, unknown>();
  let lastPosition = 0n;

  let running: RunningProjection<Target> | undefined;
  beforeAll(async () => {
    running = await startProjection(open, billingProjection, logger);
    ({ target, store, runner, table } = running);
  });
  afterAll(() => running?.stop());

  /** Decides a command on the stream's state so far, appends what it emits, returns the position of its (last) event. */
  async function decide<S, C, E extends DomainEvent>(decider: Decider<S, C, E>, streamId: string, command: C): Promise<bigint> {
    const state = (states.get(streamId) as S | undefined) ?? decider.initialState();
    const events = decider.decide(command, state);
    expect(events.length, `${streamId}: ${JSON.stringify(command)}`).toBeGreaterThan(0);
    const result = await store.append(streamId, events, { expectedVersion: 'any', commandId: randomUUID(), actor: 'billing-int' });
    states.set(streamId, events.reduce(decider.evolve, state));
    lastPosition = result.lastPosition!;
    return result.lastPosition!;
  }
  const session = (command: SessionCommand) => decide(sessionDecider, sessionStreamId(command.sessionId), command);
  const prices = (command: PricesCommand) => decide(pricesDecider, pricesStreamId(command.zone), command);
  const tariff = (definition: TariffDefinition) =>
    decide(tariffDecider, tariffStreamId(definition.tariffId), { type: 'DefineTariff', at: T('08:00', '2026-10-30'), tariff: definition });
  const assign = (command: Omit<AccountCommand, 'type' | 'at'>) =>
    decide(accountDecider, accountStreamId(command.accountId), { type: 'AssignTariff', at: T('08:00', '2026-10-31'), ...command });

  /** Appends events as they are (no decider): the read model must take whatever the log holds. */
  async function raw(streamId: string, events: NewEvent[]): Promise<void> {
    const result = await store.append(streamId, events, { expectedVersion: 'any', commandId: randomUUID(), actor: 'billing-int' });
    lastPosition = result.lastPosition!;
  }

  const plugIn = (sessionId: string, at: string, extra: Partial<PlugIn> = {}): PlugIn => ({
    type: 'PlugIn',
    sessionId,
    siteId: `depot-${tag}`,
    connectorId: 'C1-1',
    at,
    vehicleId: `vehicle-${sessionId}`,
    customerId: `cust-a-${tag}`,
    ...PLUG_IN_DEFAULTS,
    departureAt: '2026-11-28T07:00:00.000Z',
    energyNeededWh: '30000',
    ...extra,
  });
  const reading = (sessionId: string, occurredAt: string, energyImportWh: string, energyExportWh = '0'): RecordSessionMeterReading => ({
    type: 'RecordSessionMeterReading',
    sessionId,
    at: later(occurredAt),
    occurredAt,
    energyImportWh,
    energyExportWh,
    powerW: null,
    socPercent: null,
  });

  const A = `a-${tag}`;
  const B = `b-${tag}`;
  const fleet = `fleet-${tag}`;
  const customerB = `cust-b-${tag}`;
  const zone = `NL${tag.slice(0, 4)}`;
  const fixedId = `home-fixed-${tag}`;
  const dynamicId = `fleet-dyn-${tag}`;
  const fixed: TariffDefinition = {
    tariffId: fixedId,
    name: 'Home fixed',
    currency: 'EUR',
    energy: { kind: 'fixed', priceMinorPerKWh: '30' },
    speedBands: [],
    sessionFeeMinor: '50',
    exportCredit: { kind: 'fixed', creditMinorPerKWh: '12' },
  };
  const dynamic: TariffDefinition = {
    tariffId: dynamicId,
    name: 'Fleet dynamic',
    currency: 'EUR',
    energy: { kind: 'dynamic', zone, marginMinorPerKWh: '2.5', floorMinorPerKWh: null, capMinorPerKWh: '40' },
    speedBands: [],
    sessionFeeMinor: null,
    exportCredit: null,
  };
  const at = new Map<string, bigint>();

  it('projects sessions, readings (late, corrected, reset), intervals, prices, tariffs and assignments', async () => {
    at.set('fixed', await tariff(fixed));
    at.set('dynamic', await tariff(dynamic));
    at.set('assign fixed', await assign({ accountId: fleet, tariffId: fixedId, validFrom: T('00:00', '2026-11-01'), validTo: null }));
    // Starts inside the open-ended one: ends it at 10:30.
    at.set('assign dynamic', await assign({ accountId: fleet, tariffId: dynamicId, validFrom: T('10:30'), validTo: null }));
    // An account id is any text: quotes, a backslash, braces, a comma and spaces survive the multi-row statements.
    // Account ids name streams (letters, digits, _ . : @ -); this one still reads like SQL NULL in an array.
    const oddAccount = `NULL:cust.o@${tag}`;
    await raw(`account-odd-${tag}`, [{ type: 'TariffAssigned', data: { accountId: oddAccount, tariffId: fixedId, validFrom: T('00:00', '2026-11-01'), validTo: null } }]);
    await raw(`account-odd-${tag}`, [{ type: 'TariffAssigned', data: { accountId: oddAccount, tariffId: dynamicId, validFrom: T('00:00', '2026-11-15'), validTo: null } }]);
    at.set('assign B', await assign({ accountId: customerB, tariffId: fixedId, validFrom: T('00:00', '2026-11-01'), validTo: T('00:00', '2026-12-01') }));
    const publish = (atInstant: string, points: [string, string, string, string | null][]): PricesCommand => ({
      type: 'PublishPrices',
      zone,
      at: atInstant,
      currency: 'EUR',
      source: 'epex',
      points: points.map(([start, end, priceMinorPerKWh, carbonGPerKWh]) => ({ start: T(start), end: T(end), priceMinorPerKWh, carbonGPerKWh })),
    });
    at.set(
      'published',
      await prices(
        publish(T('12:00', '2026-11-26'), [
          ['10:00', '10:30', '8.21', '320'],
          ['10:30', '11:00', '9.05', null],
        ]),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later recordedAt for "as known at"
    // Only 10:15 changes: a revision of that interval alone.
    at.set(
      'revised',
      await prices(
        publish(T('09:00'), [
          ['10:00', '10:15', '8.21', '320'],
          ['10:15', '10:30', '12.5', '300'],
        ]),
      ),
    );

    // Session A: a fleet's; a late reading, a correction, a meter reset, thirds of a mWh.
    at.set('A plug-in', await session(plugIn(A, T('10:05'), { fleetId: fleet, meterStartImportWh: '1000' })));
    at.set('A 10:10', await session(reading(A, T('10:10'), '1500')));
    at.set('A 10:25', await session(reading(A, T('10:25'), '3000')));
    at.set('A 10:20', await session(reading(A, T('10:20'), '2800'))); // late
    at.set('A 10:25 corrected', await session({ ...reading(A, T('10:25'), '3100.001'), type: 'CorrectSessionMeterReading', reason: 'register misread' }));
    at.set('A 10:40', await session(reading(A, T('10:40'), '3400.001')));
    at.set(
      'A reset',
      await session({ type: 'ResetSessionMeter', sessionId: A, at: later(T('10:41')), occurredAt: T('10:41'), energyImportWh: '0', energyExportWh: '0', reason: 'meter replaced' }),
    );
    at.set('A 10:44', await session(reading(A, T('10:44'), '90')));
    at.set('A 10:59', await session(reading(A, T('10:59'), '190')));
    at.set('A stop', await session({ type: 'StopSession', sessionId: A, at: T('11:00'), reason: 'EVDisconnected' }));

    // Session B: a customer's, V2G (export), a reading with milliseconds.
    at.set('B plug-in', await session(plugIn(B, T('10:00'), { customerId: customerB, meterStartImportWh: '50', meterStartExportWh: '20' })));
    at.set('B 10:30', await session(reading(B, T('10:30'), '50', '1020')));
    at.set('B 10:37', await session(reading(B, '2026-11-27T10:37:30.500Z', '50.5', '1020')));
    at.set('B stop', await session({ type: 'StopSession', sessionId: B, at: T('10:40'), reason: 'Local' }));
    await caughtUp(runner, lastPosition);

    const p = (label: string) => {
      const position = at.get(label);
      if (position === undefined) throw new Error(`no event ${label}`);
      return position.toString();
    };
    const instant = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'HH24:MI:SS.MS') AS ${column}`;

    const sessions = await target.sql.query(
      `SELECT session_id, account_id, customer_id, fleet_id, site_id, ${instant('plugged_in_at')}, ${instant('stopped_at')}, position::text AS position
         FROM ${table('sessions')} WHERE session_id = ANY($1) ORDER BY session_id`,
      [[A, B]],
    );
    expect(sessions.rows).toEqual([
      {
        session_id: A,
        account_id: fleet,
        customer_id: `cust-a-${tag}`,
        fleet_id: fleet,
        site_id: `depot-${tag}`,
        plugged_in_at: '10:05:00.000',
        stopped_at: '11:00:00.000',
        position: p('A plug-in'),
      },
      {
        session_id: B,
        account_id: customerB,
        customer_id: customerB,
        fleet_id: null,
        site_id: `depot-${tag}`,
        plugged_in_at: '10:00:00.000',
        stopped_at: '10:40:00.000',
        position: p('B plug-in'),
      },
    ]);

    const point = (kind: string, hhmm: string, importWh: string, exportWh: string, segment: number, position: string, correctedPosition: string | null = null) => ({
      kind,
      occurredAt: hhmm.includes('T') ? hhmm : T(hhmm),
      importWh,
      exportWh,
      segment,
      position,
      correctedPosition,
    });
    expect(await sessionMeterPoints(target.sql, table, A)).toEqual([
      point('plug_in', '10:05', '1000', '0', 0, p('A plug-in')),
      point('reading', '10:10', '1500', '0', 0, p('A 10:10')),
      point('reading', '10:20', '2800', '0', 0, p('A 10:20')),
      point('reading', '10:25', '3100.001', '0', 0, p('A 10:25'), p('A 10:25 corrected')),
      point('reading', '10:40', '3400.001', '0', 0, p('A 10:40')),
      point('reset', '10:41', '0', '0', 1, p('A reset')),
      point('reading', '10:44', '90', '0', 1, p('A 10:44')),
      point('reading', '10:59', '190', '0', 1, p('A 10:59')),
    ]);

    // By hand (Wh): 10:05→10:10 500 | 10:10→10:20 1300, half each side of 10:15 | 10:20→10:25 300.001 |
    // 10:25→10:40 300: 100 before 10:30, 200 after | no span across the reset | 10:41→10:44 90 |
    // 10:44→10:59 100: 1 minute before 10:45 (6.666.. → 6.667, the larger remainder), 14 after (93.333).
    const positions = (...labels: string[]) => labels.map(p).sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    const interval = (sessionId: string, hhmm: string, importWh: string, exportWh: string, justifiedBy: string[]) => ({
      sessionId,
      intervalStart: T(hhmm),
      importWh,
      exportWh,
      justifiedBy,
    });
    const intervalsA = [
      interval(A, '10:00', '1150', '0', positions('A plug-in', 'A 10:10', 'A 10:20')),
      interval(A, '10:15', '1050.001', '0', positions('A 10:10', 'A 10:20', 'A 10:25', 'A 10:25 corrected', 'A 10:40')),
      interval(A, '10:30', '296.667', '0', positions('A 10:25', 'A 10:25 corrected', 'A 10:40', 'A reset', 'A 10:44', 'A 10:59')),
      interval(A, '10:45', '93.333', '0', positions('A 10:44', 'A 10:59')),
    ];
    expect(await sessionIntervals(target.sql, table, A)).toEqual(intervalsA);
    // Segment 0 counted 3400.001 - 1000, segment 1 190: 2590.001 in all.
    expect(intervalsA.reduce((sum, i) => sum + toMilli(i.importWh), 0n)).toBe(toMilli('2590.001'));
    const intervalsB = [
      interval(B, '10:00', '0', '500', positions('B plug-in', 'B 10:30')),
      interval(B, '10:15', '0', '500', positions('B plug-in', 'B 10:30')),
      interval(B, '10:30', '0.5', '0', positions('B 10:30', 'B 10:37')),
    ];
    expect(await sessionIntervals(target.sql, table, B)).toEqual(intervalsB);
    expect(await sessionIntervals(target.sql, table, `nobody-${tag}`)).toEqual([]);

    const priceRows = await target.sql.query(
      `SELECT ${instant('interval_start')}, position::text AS position, trim_scale(price_minor_per_kwh)::text AS price, carbon_g_per_kwh::text AS carbon, currency, source
         FROM ${table('prices')} WHERE zone = $1 ORDER BY interval_start, position`,
      [zone],
    );
    expect(priceRows.rows).toEqual([
      { interval_start: '10:00:00.000', position: p('published'), price: '8.21', carbon: '320', currency: 'EUR', source: 'epex' },
      { interval_start: '10:15:00.000', position: p('published'), price: '8.21', carbon: '320', currency: 'EUR', source: 'epex' },
      { interval_start: '10:15:00.000', position: p('revised'), price: '12.5', carbon: '300', currency: 'EUR', source: 'epex' },
      { interval_start: '10:30:00.000', position: p('published'), price: '9.05', carbon: null, currency: 'EUR', source: 'epex' },
      { interval_start: '10:45:00.000', position: p('published'), price: '9.05', carbon: null, currency: 'EUR', source: 'epex' },
    ]);
    const tariffRows = await target.sql.query(`SELECT tariff_id, definition, position::text AS position FROM ${table('tariffs')} WHERE tariff_id = ANY($1) ORDER BY tariff_id`, [
      [fixedId, dynamicId],
    ]);
    expect(tariffRows.rows).toEqual([
      { tariff_id: dynamicId, definition: dynamic, position: p('dynamic') },
      { tariff_id: fixedId, definition: fixed, position: p('fixed') },
    ]);
    const assignmentRows = await target.sql.query(
      `SELECT account_id, tariff_id, to_char(valid_from AT TIME ZONE 'UTC', 'MM-DD HH24:MI') AS valid_from, to_char(valid_to AT TIME ZONE 'UTC', 'MM-DD HH24:MI') AS valid_to,
              position::text AS position, ended_by::text AS ended_by
         FROM ${table('tariff_assignments')} WHERE account_id = ANY($1) ORDER BY account_id, valid_from`,
      [[fleet, customerB]],
    );
    expect(assignmentRows.rows).toEqual([
      { account_id: customerB, tariff_id: fixedId, valid_from: '11-01 00:00', valid_to: '12-01 00:00', position: p('assign B'), ended_by: null },
      { account_id: fleet, tariff_id: fixedId, valid_from: '11-01 00:00', valid_to: '11-27 10:30', position: p('assign fixed'), ended_by: p('assign dynamic') },
      { account_id: fleet, tariff_id: dynamicId, valid_from: '11-27 10:30', valid_to: null, position: p('assign dynamic'), ended_by: null },
    ]);

    const odd = await billingInput(target.sql, table, oddAccount, { from: T('00:00', '2026-11-01'), to: T('00:00', '2026-12-01') });
    expect(odd.assignments.map((a) => [a.accountId, a.tariffId, a.validFrom, a.validTo])).toEqual([
      [oddAccount, fixedId, T('00:00', '2026-11-01'), T('00:00', '2026-11-15')],
      [oddAccount, dynamicId, T('00:00', '2026-11-15'), null],
    ]);

    // What billing reads for the fleet's November, prices as known now and as known before the revision.
    const november = { from: T('00:00', '2026-11-01'), to: T('00:00', '2026-12-01') };
    const input = await billingInput(target.sql, table, fleet, november);
    const spot = (hhmm: string, priceMinorPerKWh: string, position: string) => [T(hhmm), { zone, intervalStart: T(hhmm), priceMinorPerKWh, currency: 'EUR', position }] as const;
    expect(input).toEqual({
      sessions: [{ sessionId: A, accountId: fleet, siteId: `depot-${tag}`, pluggedInAt: T('10:05'), stoppedAt: T('11:00'), position: p('A plug-in') }],
      intervals: intervalsA,
      tariffs: new Map([
        [dynamicId, { ...dynamic, position: p('dynamic') }],
        [fixedId, { ...fixed, position: p('fixed') }],
      ]),
      assignments: [
        { accountId: fleet, tariffId: fixedId, validFrom: T('00:00', '2026-11-01'), validTo: T('10:30'), position: p('assign fixed') },
        { accountId: fleet, tariffId: dynamicId, validFrom: T('10:30'), validTo: null, position: p('assign dynamic') },
      ],
      prices: new Map([
        [zone, new Map([spot('10:00', '8.21', p('published')), spot('10:15', '12.5', p('revised')), spot('10:30', '9.05', p('published')), spot('10:45', '9.05', p('published'))])],
      ]),
    });
    const [published] = await store.readStream(pricesStreamId(zone), { limit: 1 });
    const before = await billingInput(target.sql, table, fleet, { ...november, pricesKnownAt: published!.metadata.recordedAt });
    expect(before.prices.get(zone)?.get(T('10:15'))).toEqual({ zone, intervalStart: T('10:15'), priceMinorPerKWh: '8.21', currency: 'EUR', position: p('published') });
    expect((await billingInput(target.sql, table, fleet, { ...november, pricesKnownAt: '2026-01-01T00:00:00Z' })).prices).toEqual(new Map());
    // Half-open range: only the intervals in it, and the sessions with energy in it.
    const slice = await billingInput(target.sql, table, fleet, { from: T('10:15'), to: T('10:45') });
    expect(slice.intervals.map((i) => i.intervalStart)).toEqual([T('10:15'), T('10:30')]);
    expect(slice.sessions.map((s) => s.sessionId)).toEqual([A]);
    expect((await billingInput(target.sql, table, fleet, { from: T('11:00'), to: T('12:00') })).sessions).toEqual([]);

    const inputB = await billingInput(target.sql, table, customerB, november);
    expect(inputB.sessions.map((s) => s.sessionId)).toEqual([B]);
    expect(inputB.intervals).toEqual(intervalsB);
    expect([...inputB.tariffs.keys()]).toEqual([fixedId]);
    expect(inputB.prices).toEqual(new Map());

    // The lead's use: buildInvoice on it. Everything is priced (fixed before 10:30, spot after).
    const invoice = buildInvoice(input, fleet, '2026-11');
    expect(invoice.unpricedIntervals).toEqual([]);
    expect(invoice.lines.length).toBeGreaterThan(0);
    expect(buildInvoice(inputB, customerB, '2026-11').unpricedIntervals).toEqual([]);
  });

  /**
   * The same readings, delivered in different orders (late ones, duplicates, a correction, a reset
   * arriving after readings of the segment it starts, the plug-in after the readings) in chunks of
   * different sizes: the rows must come out the same, and equal to apportion over the final set.
   */
  it('gives the same rows whatever order the readings arrive in', async () => {
    const start = Date.parse(T('08:00'));
    const random = fc.sample(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { seed: 42, numRuns: 1 })[0]!;
    let seed = random;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // 40 readings over 3 hours at random ms; a reset between the 25th and 26th.
    const times = [...new Set(Array.from({ length: 40 }, () => start + 1 + Math.floor(next() * 3 * 3600 * 1000)))].sort((a, b) => a - b);
    const resetAt = times[25]! - 1;
    type Reading = { occurredAt: string; importMilli: bigint; exportMilli: bigint };
    const readings: Reading[] = [];
    let importMilli = 12_345_678n;
    let exportMilli = 10_000n;
    for (const [i, ms] of times.entries()) {
      if (i === 25) {
        importMilli = 0n;
        exportMilli = 0n;
      }
      importMilli += BigInt(Math.floor(next() * 2_000_000));
      if (next() < 0.3) exportMilli += BigInt(Math.floor(next() * 500_000));
      readings.push({ occurredAt: new Date(ms).toISOString(), importMilli, exportMilli });
    }
    const corrected = 10;
    const correctedImport = readings[corrected]!.importMilli - 1234n; // still above the reading before it
    expect(correctedImport > readings[corrected - 1]!.importMilli).toBe(true);

    const wh = fromMilli;
    const plugInEvent = (sessionId: string): NewEvent => {
      const data = sessionDecider.decide(
        plugIn(sessionId, new Date(start).toISOString(), { meterStartImportWh: '12345.678', meterStartExportWh: '10' }),
        sessionDecider.initialState(),
      );
      return data[0]!;
    };
    const recordedEvent = (sessionId: string, r: Reading, importOverride?: bigint): NewEvent => ({
      type: 'SessionMeterReadingRecorded',
      data: { sessionId, occurredAt: r.occurredAt, energyImportWh: wh(importOverride ?? r.importMilli), energyExportWh: wh(r.exportMilli), powerW: null, socPercent: null },
    });
    const correctionEvent = (sessionId: string): NewEvent => ({
      type: 'SessionMeterReadingCorrected',
      data: { ...(recordedEvent(sessionId, readings[corrected]!, correctedImport).data as object), reason: 'misread' },
    });
    const resetEvent = (sessionId: string): NewEvent => ({
      type: 'SessionMeterReset',
      data: { sessionId, occurredAt: new Date(resetAt).toISOString(), energyImportWh: '0', energyExportWh: '0', reason: 'meter replaced' },
    });

    // Orders: chronological, reversed, and shuffles with duplicates (fast-check, seeded).
    type Item = { kind: 'reading'; index: number } | { kind: 'correction' } | { kind: 'reset' } | { kind: 'plug_in' };
    const chronological: Item[] = [{ kind: 'plug_in' }];
    readings.forEach((_, index) => {
      if (index === 25) chronological.push({ kind: 'reset' });
      chronological.push({ kind: 'reading', index });
    });
    chronological.push({ kind: 'correction' });
    const orders: { name: string; items: Item[]; chunk: number }[] = [
      { name: 'chronological', items: chronological, chunk: 40 },
      { name: 'chronological, one per append', items: chronological, chunk: 1 },
      { name: 'reversed', items: [chronological[0]!, ...chronological.slice(1, -1).reverse(), { kind: 'correction' }], chunk: 3 },
    ];
    const shuffles = fc.sample(
      fc.record({
        order: fc.shuffledSubarray([...readings.keys()], { minLength: readings.length, maxLength: readings.length }),
        duplicates: fc.array(fc.nat({ max: readings.length - 1 }), { minLength: 5, maxLength: 15 }),
        resetAt: fc.nat({ max: readings.length }),
        plugInAt: fc.oneof(fc.constant(0), fc.nat({ max: 10 })),
        chunk: fc.integer({ min: 1, max: 12 }),
      }),
      { seed: 7, numRuns: 5 },
    );
    for (const [n, shuffle] of shuffles.entries()) {
      const items: Item[] = shuffle.order.map((index) => ({ kind: 'reading', index }));
      for (const index of shuffle.duplicates) {
        const first = items.findIndex((item) => item.kind === 'reading' && item.index === index);
        items.splice(first + 1 + Math.floor(next() * (items.length - first)), 0, { kind: 'reading', index });
      }
      items.splice(shuffle.resetAt, 0, { kind: 'reset' });
      items.splice(Math.min(shuffle.plugInAt, items.length), 0, { kind: 'plug_in' });
      // The correction after the last copy of the reading it corrects (a copy after it would replace it again).
      const lastCopy = items.findLastIndex((item) => item.kind === 'reading' && item.index === corrected);
      items.splice(lastCopy + 1 + Math.floor(next() * (items.length - lastCopy)), 0, { kind: 'correction' });
      orders.push({ name: `shuffle ${n}`, items, chunk: shuffle.chunk });
    }

    const sessionOf = new Map<string, string>();
    for (const [n, order] of orders.entries()) {
      const sessionId = `o${n}-${tag}`;
      sessionOf.set(order.name, sessionId);
      const events = order.items.map((item) => {
        switch (item.kind) {
          case 'plug_in':
            return plugInEvent(sessionId);
          case 'reading':
            return recordedEvent(sessionId, readings[item.index]!);
          case 'correction':
            return correctionEvent(sessionId);
          case 'reset':
            return resetEvent(sessionId);
        }
      });
      for (let i = 0; i < events.length; i += order.chunk) {
        await raw(sessionStreamId(sessionId), events.slice(i, i + order.chunk));
        // Each chunk projected before the next arrives: late readings meet rows already written.
        if (order.chunk > 1) await caughtUp(runner, lastPosition);
      }
    }
    await caughtUp(runner, lastPosition);

    // Expected: apportion over the final points, span by span within each segment.
    const finalReadings = readings.map((r, i) => (i === corrected ? { ...r, importMilli: correctedImport } : r));
    type Labelled = { at: string; importWh: string; exportWh: string; label: string };
    const origin: Labelled = { at: new Date(start).toISOString(), importWh: '12345.678', exportWh: '10', label: 'plug_in' };
    const reset: Labelled = { at: new Date(resetAt).toISOString(), importWh: '0', exportWh: '0', label: 'reset' };
    const segments: Labelled[][] = [[origin], [reset]];
    for (const [i, r] of finalReadings.entries()) {
      segments[i < 25 ? 0 : 1]!.push({ at: r.occurredAt, importWh: wh(r.importMilli), exportWh: wh(r.exportMilli), label: `r@${r.occurredAt}${i === corrected ? '+c' : ''}` });
    }
    const expected = new Map<string, { importMilli: bigint; exportMilli: bigint; labels: Set<string> }>();
    for (const segment of segments) {
      for (let i = 1; i < segment.length; i++) {
        for (const share of apportion(segment[i - 1]!, segment[i]!)) {
          const row = expected.get(share.intervalStart) ?? { importMilli: 0n, exportMilli: 0n, labels: new Set<string>() };
          row.importMilli += toMilli(share.importWh);
          row.exportMilli += toMilli(share.exportWh);
          for (const label of [segment[i - 1]!.label, segment[i]!.label])
            for (const part of label.split('+')) row.labels.add(part === 'c' ? `c@${readings[corrected]!.occurredAt}` : part);
          expected.set(share.intervalStart, row);
        }
      }
    }
    const expectedRows = [...expected.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([intervalStart, row]) => ({ intervalStart, importWh: wh(row.importMilli), exportWh: wh(row.exportMilli), labels: [...row.labels].sort() }));

    for (const order of orders) {
      const sessionId = sessionOf.get(order.name)!;
      // Positions name events; the same event content gets the same label in every order.
      const labelOf = new Map<string, string>();
      for (const event of await store.readStream(sessionStreamId(sessionId))) labelOf.set(event.globalPosition.toString(), labelFor(event));
      const rows = (await sessionIntervals(target.sql, table, sessionId)).map((row) => ({
        intervalStart: row.intervalStart,
        importWh: row.importWh,
        exportWh: row.exportWh,
        labels: [...new Set(row.justifiedBy.map((position) => labelOf.get(position)!))].sort(),
      }));
      expect(rows, order.name).toEqual(expectedRows);
      const points = (await sessionMeterPoints(target.sql, table, sessionId)).map((point) => ({
        ...point,
        position: labelOf.get(point.position),
        correctedPosition: point.correctedPosition === null ? null : labelOf.get(point.correctedPosition),
      }));
      expect(points.length, order.name).toBe(readings.length + 2);
      expect(
        points.map((point) => [point.kind, point.segment]),
        order.name,
      ).toEqual([['plug_in', 0], ...readings.slice(0, 25).map(() => ['reading', 0]), ['reset', 1], ...readings.slice(25).map(() => ['reading', 1])]);
      expect(points[corrected + 1], order.name).toMatchObject({
        importWh: wh(correctedImport),
        position: `r@${readings[corrected]!.occurredAt}`,
        correctedPosition: `c@${readings[corrected]!.occurredAt}`,
      });
    }
  }, 120_000); // eight full builds of the read model: slow when the machine is busy

  function labelFor(event: RecordedEvent): string {
    const data = event.data as { occurredAt?: string };
    switch (event.type) {
      case 'SessionPluggedIn':
        return 'plug_in';
      case 'SessionMeterReset':
        return 'reset';
      case 'SessionMeterReadingCorrected':
        return `c@${data.occurredAt}`;
      default:
        return `r@${data.occurredAt}`;
    }
  }

  it('builds identical rows from zero, in big batches, event by event, and in small batches', async () => {
    await caughtUp(runner, lastPosition);
    await expectSameRows(
      { target, store, table },
      lastPosition,
      BILLING_READ_MODEL_TABLES,
      [
        { name: 'rebuild', schema: target.schemas.rebuild, projection: billingProjection, batchSize: 1000 },
        { name: 'per event', schema: target.schemas.perEvent, projection: perEventProjection, batchSize: 500 },
        { name: 'small batches', schema: target.schemas.smallBatches, projection: billingProjection, batchSize: 3 },
      ],
      { logger },
    );
  }, 180_000); // three builds of every table, one of them 3 events a transaction: seconds alone, many times that on a loaded machine
}
