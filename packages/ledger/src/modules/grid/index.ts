import { gridProjection } from '@v2g/projection-grid';
import { projectionLive, type ModuleDefinition } from '../module.ts';
import { AllocationScheduler } from './allocation-scheduler.ts';
import { GridService } from './grid-service.ts';
import { gridReadModel, type GridReadModel } from './grid-read-model.ts';
import { setpointChanges, type SetpointsChanged } from './setpoint-feed.ts';

export * from './grid-service.ts';
export * from './allocation-scheduler.ts';
export * from './grid-read-model.ts';
export * from './setpoint-feed.ts';

/** The grid: sites and their electrical trees, sessions, allocation within every limit. */
export type GridModule = {
  service: GridService;
  readModel: GridReadModel;
  /** A site's setpoint changes from the log, from just after `after` (default: now). */
  setpointChanges(siteId: string, after: bigint | null): AsyncGenerator<SetpointsChanged>;
};

declare module '../module.ts' {
  interface Modules {
    grid: GridModule;
  }
}

export const gridModule: ModuleDefinition<'grid'> = {
  name: 'grid',
  projections: [gridProjection],
  open(platform) {
    const { logger } = platform;
    const readModel = gridReadModel(platform.sql, platform.tables(gridProjection));
    const service: GridService = new GridService(platform.store, platform.commands, {
      chargerResponseMs: platform.settings.chargerResponseMs,
      clock: platform.clock,
      ...(platform.settings.timeBounds ? { timeBounds: platform.settings.timeBounds } : {}),
      logger: logger.child({ component: 'grid' }),
      // The price a site's discharge threshold is compared with: the latest known for its zone.
      priceAt: async (siteId, at) => {
        const { site } = await service.loadSite(siteId);
        if (!site?.priceZone || site.dischargePriceThresholdMinorPerKWh === null) return null;
        return (await platform.modules.billing.readModel.priceAt(site.priceZone, at))?.priceMinorPerKWh ?? null;
      },
      // Every recorded allocation plans the site's next clock-driven one.
      onAllocated: (outcome) => void scheduler.allocated(outcome),
    });
    const scheduler = new AllocationScheduler(service, { logger: logger.child({ component: 'allocation-scheduler' }) });

    /**
     * After a restart, sites with vehicles plugged in need their clock-driven allocations again
     * (turns expire, rules start): once the grid read model has caught up, it says which sites.
     */
    async function resumeAllocations(): Promise<void> {
      if (!(await projectionLive(platform, gridProjection.name))) {
        if (!platform.closing()) logger.warn({ projection: gridProjection.name }, 'grid read model not live: clock-driven allocations resume with the next command of each site');
        return;
      }
      const siteIds = await readModel.sitesWithSessionsAtConnectors();
      for (const siteId of siteIds) scheduler.watch(siteId);
      logger.info({ sites: siteIds.length }, 'clock-driven allocations resumed');
    }

    return {
      service,
      readModel,
      setpointChanges: (siteId, after) => setpointChanges(platform.store, siteId, after),
      async start() {
        void resumeAllocations().catch((error: unknown) => {
          if (!platform.closing()) logger.error({ err: error }, 'could not resume clock-driven allocations');
        });
      },
      async stop() {
        scheduler.stop();
      },
    };
  },
};
// The session states the grid read model knows, for the API's enumerations.
export { GRID_SESSION_STATUSES } from '@v2g/projection-grid';
