import { createHash } from 'node:crypto';
import type { InputEvent, SettlementTrade } from '../src/settlement/settlement-types.ts';

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export const T = (hhmm: string, day = '2026-11-28') => `${day}T${hhmm}${hhmm.length === 5 ? ':00' : ''}.000Z`;

/**
 * A log of InputEvents as the store would record them: global positions from 1, stream versions,
 * a hash chain per stream, recordedAt as given.
 */
export class EventLog {
  readonly events: InputEvent[] = [];
  private readonly heads = new Map<string, { version: number; hash: string }>();

  constructor(private position = 0n) {}

  append(streamId: string, type: string, data: unknown, recordedAt: string): InputEvent {
    this.position += 1n;
    const head = this.heads.get(streamId) ?? { version: 0, hash: '' };
    const hash = sha256(head.hash + JSON.stringify({ streamId, type, data }));
    const event: InputEvent = { streamId, streamVersion: head.version + 1, position: this.position.toString(), type, data, recordedAt, hash };
    this.heads.set(streamId, { version: head.version + 1, hash });
    this.events.push(event);
    return event;
  }

  // ---- marketzone-<zone> ----
  configure(zone: string, currency: string, imbalancePriceZone: string, recordedAt: string): InputEvent {
    return this.append(`marketzone-${zone}`, 'MarketZoneConfigured', { zone, currency, imbalancePriceZone, products: [] }, recordedAt);
  }
  register(zone: string, participantId: string, recordedAt: string): InputEvent {
    return this.append(`marketzone-${zone}`, 'ParticipantRegistered', { zone, participantId, name: participantId }, recordedAt);
  }
  assign(zone: string, participantId: string, memberKind: 'fleet' | 'customer' | 'site', memberId: string, validFrom: string, recordedAt: string): InputEvent {
    return this.append(`marketzone-${zone}`, 'PortfolioMemberAssigned', { zone, participantId, memberKind, memberId, validFrom }, recordedAt);
  }

  // ---- prices-<zone> ----
  prices(zone: string, currency: string, intervals: [start: string, priceMinorPerKWh: string][], recordedAt: string, revised = false): InputEvent {
    const data = {
      zone,
      currency,
      source: 'epex',
      intervals: intervals.map(([start, priceMinorPerKWh]) => ({ start, priceMinorPerKWh, carbonGPerKWh: null, ...(revised ? { previousPriceMinorPerKWh: '0' } : {}) })),
    };
    return this.append(`prices-${zone}`, revised ? 'PricesRevised' : 'PricesPublished', data, recordedAt);
  }

  // ---- market-<zone>-<start>-<minutes>m ----
  trade(
    t: Partial<SettlementTrade> & Pick<SettlementTrade, 'tradeId' | 'sellerId' | 'buyerId' | 'quantityWh' | 'priceMinorPerMWh' | 'deliveryStart' | 'deliveryEnd'>,
    recordedAt: string,
  ): InputEvent {
    const zone = t.zone ?? 'NL';
    const minutes = (Date.parse(t.deliveryEnd) - Date.parse(t.deliveryStart)) / 60_000;
    const key = t.deliveryStart.replace(/[-:]/g, '').slice(0, 13) + 'Z';
    const data: SettlementTrade = {
      zone,
      currency: 'EUR',
      buyOrderId: `${t.tradeId}-b`,
      sellOrderId: `${t.tradeId}-s`,
      aggressorSide: 'buy',
      executedAt: recordedAt,
      ...t,
    };
    return this.append(`market-${zone}-${key}-${minutes}m`, 'TradeExecuted', data, recordedAt);
  }

  // ---- session-<id> ----
  plugIn(
    sessionId: string,
    who: { customerId: string; fleetId?: string | null; siteId?: string },
    pluggedInAt: string,
    recordedAt: string,
    meterStart: [importWh: string, exportWh: string] = ['0', '0'],
  ): InputEvent {
    return this.append(
      `session-${sessionId}`,
      'SessionPluggedIn',
      {
        sessionId,
        siteId: who.siteId ?? 'depot',
        connectorId: 'c1',
        vehicleId: `ev-${sessionId}`,
        customerId: who.customerId,
        fleetId: who.fleetId ?? null,
        tier: 'normal',
        pluggedInAt,
        departureAt: '2026-11-29T07:00:00.000Z',
        energyNeededWh: '10000',
        targetSocPercent: null,
        batteryCapacityWh: null,
        socPercent: null,
        minPowerW: '0',
        maxPowerW: '11000',
        v2g: null,
        meterStartImportWh: meterStart[0],
        meterStartExportWh: meterStart[1],
      },
      recordedAt,
    );
  }
  reading(sessionId: string, occurredAt: string, importWh: string, exportWh: string, recordedAt: string): InputEvent {
    return this.append(
      `session-${sessionId}`,
      'SessionMeterReadingRecorded',
      { sessionId, occurredAt, energyImportWh: importWh, energyExportWh: exportWh, powerW: null, socPercent: null },
      recordedAt,
    );
  }
  correction(sessionId: string, occurredAt: string, importWh: string, exportWh: string, recordedAt: string): InputEvent {
    return this.append(
      `session-${sessionId}`,
      'SessionMeterReadingCorrected',
      { sessionId, occurredAt, energyImportWh: importWh, energyExportWh: exportWh, powerW: null, socPercent: null, reason: 'misread' },
      recordedAt,
    );
  }
  reset(sessionId: string, occurredAt: string, importWh: string, exportWh: string, recordedAt: string): InputEvent {
    return this.append(
      `session-${sessionId}`,
      'SessionMeterReset',
      { sessionId, occurredAt, energyImportWh: importWh, energyExportWh: exportWh, reason: 'meter replaced' },
      recordedAt,
    );
  }
  stop(sessionId: string, at: string, recordedAt: string): InputEvent {
    return this.append(`session-${sessionId}`, 'SessionStopped', { sessionId, at, reason: 'EVDisconnected' }, recordedAt);
  }
}

/**
 * The hand-computed example: zone NL (EUR, imbalance prices of NL), period 10:00-10:15 on
 * 2026-11-28. Trader `agg` sells 10 kWh at 8000 minor/MWh (80 minor) to `retailer`; agg's portfolio
 * (fleet `fleet-1`) exports 8 kWh in the period; the imbalance price is 12 minor/kWh.
 */
export function handExample() {
  const log = new EventLog();
  const config = log.configure('NL', 'EUR', 'NL', T('08:00'));
  log.register('NL', 'agg', T('08:01'));
  log.register('NL', 'retailer', T('08:02'));
  const portfolio = log.assign('NL', 'agg', 'fleet', 'fleet-1', T('00:00'), T('08:03'));
  const price = log.prices(
    'NL',
    'EUR',
    [
      [T('10:00'), '12'],
      [T('10:15'), '13'],
    ],
    T('09:00'),
  );
  const trade = log.trade(
    { tradeId: 'T1', sellerId: 'agg', buyerId: 'retailer', quantityWh: '10000', priceMinorPerMWh: '8000', deliveryStart: T('10:00'), deliveryEnd: T('10:15') },
    T('09:30'),
  );
  const plugIn = log.plugIn('s1', { customerId: 'cust-1', fleetId: 'fleet-1' }, T('10:00'), T('10:00'));
  const reading = log.reading('s1', T('10:15'), '0', '8000', T('10:16'));
  return { log, config, portfolio, price, trade, plugIn, reading };
}
