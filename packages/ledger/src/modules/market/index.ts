import type { MarketTrade } from '@v2g/projection-market';
import { marketProjection } from '@v2g/projection-market';
import { projectionLive, type ModuleDefinition } from '../module.ts';
import { GateScheduler } from './gate-scheduler.ts';
import { MarketService } from './market-service.ts';
import { marketReadModel, type MarketReadModel } from './market-read-model.ts';
import { tradesOf } from './trade-feed.ts';

export * from './market-service.ts';
export * from './gate-scheduler.ts';
export * from './market-read-model.ts';
export * from './trade-feed.ts';

/** The market: zones, participants, order books with gate closure, trades. */
export type MarketModule = {
  service: MarketService;
  readModel: MarketReadModel;
  /** A zone's trades from the log, from just after `after` (default: now). */
  tradesOf(zone: string, after: bigint | null): AsyncGenerator<MarketTrade>;
};

declare module '../module.ts' {
  interface Modules {
    market: MarketModule;
  }
}

export const marketModule: ModuleDefinition<'market'> = {
  name: 'market',
  projections: [marketProjection],
  open(platform) {
    const { logger } = platform;
    const readModel = marketReadModel(platform.sql, platform.tables(marketProjection));
    // Every accepted submit tells the gate scheduler about its book; it closes each gate on time.
    const service: MarketService = new MarketService(platform.store, platform.commands, { clock: platform.clock, onBookOpen: (book) => gateScheduler.watch(book) });
    const gateScheduler = new GateScheduler(service, { logger: logger.child({ component: 'gate-scheduler' }) });

    /** After a restart, the books whose gate is still open come from the market read model once it is live. */
    async function resumeGates(): Promise<void> {
      if (!(await projectionLive(platform, marketProjection.name))) {
        if (!platform.closing()) logger.warn({ projection: marketProjection.name }, 'market read model not live: gates close as their books get orders again');
        return;
      }
      const books = await readModel.openBooks();
      for (const book of books) gateScheduler.watch({ ...book, streamId: book.bookId });
      logger.info({ books: books.length }, 'gate closures scheduled');
    }

    return {
      service,
      readModel,
      tradesOf: (zone, after) => tradesOf(platform.store, zone, after),
      async start() {
        void resumeGates().catch((error: unknown) => {
          if (!platform.closing()) logger.error({ err: error }, 'could not schedule the gate closures of open books');
        });
      },
      async stop() {
        gateScheduler.stop();
      },
    };
  },
};
// The order states the market read model knows, for the API's enumerations.
export { MARKET_ORDER_STATUSES } from '@v2g/projection-market';
