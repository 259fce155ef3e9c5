import { createHash } from 'node:crypto';
import { deriveSettlement, settlementDecider, type InputEvent, type SettlementEvent, type SettlementStatement } from '@v2g/domain';
import { describe, expect, it } from 'vitest';
import { SchemaRegistry } from '../src/schema-registry.ts';
import { emitted, expectRefused } from './event-schema-checks.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const T = (hhmm: string) => `2026-11-28T${hhmm}:00.000Z`;

/** A period with a trade at a negative price, V2G export, a charging import, a customer nobody claims, and a late correction. */
function inputs(): { events: InputEvent[]; add: (streamId: string, type: string, data: unknown, recordedAt: string) => InputEvent } {
  const events: InputEvent[] = [];
  const add = (streamId: string, type: string, data: unknown, recordedAt: string) => {
    const event: InputEvent = { streamId, streamVersion: 1, position: String(events.length + 1), type, data, recordedAt, hash: sha256(`${streamId}${events.length}`) };
    events.push(event);
    return event;
  };
  add('marketzone-NL', 'MarketZoneConfigured', { zone: 'NL', currency: 'EUR', imbalancePriceZone: 'NL', products: [] }, T('08:00'));
  add('marketzone-NL', 'PortfolioMemberAssigned', { zone: 'NL', participantId: 'agg', memberKind: 'fleet', memberId: 'fleet-1', validFrom: T('00:00') }, T('08:00'));
  add(
    'prices-NL',
    'PricesPublished',
    { zone: 'NL', currency: 'EUR', source: 'epex', intervals: [{ start: T('10:00'), priceMinorPerKWh: '12.5', carbonGPerKWh: null }] },
    T('08:00'),
  );
  const trade = (tradeId: string, quantityWh: string, priceMinorPerMWh: string, deliveryEnd: string) =>
    add(
      'market-NL-20261128T1000Z-60m',
      'TradeExecuted',
      {
        tradeId,
        zone: 'NL',
        currency: 'EUR',
        deliveryStart: T('10:00'),
        deliveryEnd,
        buyOrderId: 'b',
        sellOrderId: 's',
        buyerId: 'retailer',
        sellerId: 'agg',
        aggressorSide: null,
        quantityWh,
        priceMinorPerMWh,
        executedAt: T('09:00'),
      },
      T('09:00'),
    );
  trade('T1', '10001', '8123.5', T('11:00'));
  trade('T2', '3000', '-2500', T('10:15'));
  const plugIn = (sessionId: string, customerId: string, fleetId: string | null) =>
    add(
      `session-${sessionId}`,
      'SessionPluggedIn',
      {
        sessionId,
        siteId: 'depot',
        connectorId: 'c1',
        vehicleId: 'ev',
        customerId,
        fleetId,
        tier: 'normal',
        pluggedInAt: T('09:55'),
        departureAt: T('18:00'),
        energyNeededWh: '1000',
        targetSocPercent: null,
        batteryCapacityWh: null,
        socPercent: null,
        minPowerW: '0',
        maxPowerW: '11000',
        v2g: null,
        meterStartImportWh: '0',
        meterStartExportWh: '0',
      },
      T('09:55'),
    );
  const reading = (sessionId: string, hhmm: string, importWh: string, exportWh: string, recordedAt: string) =>
    add(
      `session-${sessionId}`,
      'SessionMeterReadingRecorded',
      { sessionId, occurredAt: T(hhmm), energyImportWh: importWh, energyExportWh: exportWh, powerW: null, socPercent: null },
      recordedAt,
    );
  plugIn('s1', 'cust-1', 'fleet-1');
  reading('s1', '10:10', '0', '2500.333', T('10:11'));
  plugIn('s2', 'someone else', null);
  reading('s2', '10:12', '1200.5', '0', T('10:13'));
  return { events, add };
}

/** The events the settlement decider emits closing the periods of `statements` in order. */
const closed = (statements: SettlementStatement[]): SettlementEvent[] =>
  emitted(
    settlementDecider,
    statements.map((statement) => ({ type: 'CloseSettlementPeriod' as const, at: T('11:00'), statement })),
  );

describe('settlement events conform to schemas/events', () => {
  const registry = SchemaRegistry.fromDirectory();

  it('has a v1 schema for SettlementPeriodClosed', () => {
    expect(registry.latestVersion('SettlementPeriodClosed')).toBe(1);
  });

  it('accepts every event the decider emits: a first close and a re-settlement', () => {
    const { events, add } = inputs();
    const r1 = deriveSettlement({ zone: 'NL', periodStart: T('10:00'), knownAt: T('10:20'), inputsThrough: String(events.length), events, previous: null, sha256 });
    add(
      'session-s1',
      'SessionMeterReadingCorrected',
      { sessionId: 's1', occurredAt: T('10:10'), energyImportWh: '0', energyExportWh: '2600', powerW: null, socPercent: null, reason: 'misread' },
      T('10:40'),
    );
    const r2 = deriveSettlement({ zone: 'NL', periodStart: T('10:00'), knownAt: T('10:45'), inputsThrough: String(events.length), events, previous: r1, sha256 });
    const decided = closed([r1, r2]);
    expect(decided.map((e) => e.data.revision)).toEqual([1, 2]);
    expect(new Set(r2.transfers.map((t) => t.kind)).size).toBe(8); // every kind of transfer appears
    for (const event of decided) expect(() => registry.validate(event.type, 1, JSON.parse(JSON.stringify(event.data)))).not.toThrow();
  });

  it('refuses what the decider never emits', () => {
    const { events } = inputs();
    const r1 = deriveSettlement({ zone: 'NL', periodStart: T('10:00'), knownAt: T('10:20'), inputsThrough: String(events.length), events, previous: null, sha256 });
    const line = r1.lines[0]!;
    const transfer = r1.transfers[0]!;
    const refusals: [Record<string, unknown>, string][] = [
      [{ ...r1, periodStart: T('10:05') }, '/periodStart'],
      [{ ...r1, revision: 0 }, '/revision'],
      [{ ...r1, inputsHash: 'ABC' }, '/inputsHash'],
      [{ ...r1, inputsThrough: 12 }, '/inputsThrough'],
      [{ ...r1, lines: [{ ...line, imbalanceWh: '1.50' }] }, '/lines/0/imbalanceWh'],
      [{ ...r1, lines: [{ ...line, postedImbalanceWh: '-0' }] }, '/lines/0/postedImbalanceWh'],
      [{ ...r1, lines: [{ ...line, justifiedBy: [1] }] }, '/lines/0/justifiedBy/0'],
      [{ ...r1, transfers: [{ ...transfer, amount: '0' }] }, '/transfers/0/amount'],
      [{ ...r1, transfers: [{ ...transfer, kind: 'gift' }] }, '/transfers/0/kind'],
      [{ ...r1, transfers: [{ ...transfer, ledger: 'kWh' }] }, '/transfers/0/ledger'],
      [{ ...r1, extra: true }, '/extra'],
    ];
    for (const [data, field] of refusals) expectRefused(registry, 'SettlementPeriodClosed', data, field, field);
  });
});
