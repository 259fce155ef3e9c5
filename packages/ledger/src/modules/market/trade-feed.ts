import { tradeAmountMinor, type OrderBookEvent } from '@v2g/domain';
import type { EventStore } from '@v2g/event-store';
import type { MarketTrade } from '@v2g/projection-market';

type TradeData = Extract<OrderBookEvent, { type: 'TradeExecuted' }>['data'];

/** A recorded TradeExecuted of a book's stream as the market read model shows a trade. */
export function tradeOf(bookId: string, data: TradeData, position: bigint | null): MarketTrade {
  return { ...data, bookId, position: position ?? 0n, amountMinor: tradeAmountMinor(data.quantityWh, data.priceMinorPerMWh).toString() };
}

/**
 * A zone's trades as they are recorded, read from the event log, from just after `after`
 * (default: the head now). Stops reading the log when the consumer stops.
 */
export async function* tradesOf(store: EventStore, zone: string, after: bigint | null): AsyncGenerator<MarketTrade> {
  const stop = new AbortController();
  try {
    const from = after ?? (await store.headPosition());
    for await (const event of store.subscribe({ after: from, category: 'market', signal: stop.signal })) {
      if (event.type !== 'TradeExecuted') continue;
      const data = event.data as TradeData;
      if (data.zone !== zone) continue;
      yield tradeOf(event.streamId, data, event.globalPosition);
    }
  } finally {
    // The consumer went away (or the ledger is closing): stop reading the log.
    stop.abort();
  }
}
