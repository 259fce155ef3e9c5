import { billingProjection } from '@v2g/projection-billing';
import { settlementProjection } from '@v2g/projection-settlement';
import type { ModuleDefinition } from '../module.ts';
import { ReadModelBehind, SettlementService } from './settlement-service.ts';
import { settlementReadModel, type SettlementReadModel } from './settlement-read-model.ts';
import { SettlementWatcher } from './settlement-watcher.ts';

export * from './settlement-service.ts';
export * from './settlement-watcher.ts';
export * from './settlement-audit.ts';
export * from './settlement-read-model.ts';

/** Settlement: closing periods (and settling them again), statements, the double-entry ledger. */
export type SettlementModule = { service: SettlementService; readModel: SettlementReadModel };

declare module '../module.ts' {
  interface Modules {
    settlement: SettlementModule;
  }
}

/** How long a close waits for the billing read model to include what it reads. */
const READ_MODEL_WAIT_MS = 30_000;

export const settlementModule: ModuleDefinition<'settlement'> = {
  name: 'settlement',
  projections: [settlementProjection],
  open(platform) {
    const readModel = settlementReadModel(platform.sql, platform.tables(settlementProjection));
    // A close lists a period's candidate sessions from the billing read model: it waits until that
    // model includes everything the close reads.
    const service = new SettlementService(platform.store, platform.commands, {
      clock: platform.clock,
      sessionsReaching: (range) => platform.modules.billing.readModel.sessionsReaching(range),
      readModelsAt: async (position) => {
        const deadline = Date.now() + READ_MODEL_WAIT_MS;
        for (;;) {
          const status = await platform.projectionStatus(billingProjection.name);
          if (status && status.checkpoint >= position) return;
          if (!status || status.state === 'failed' || status.state === 'stopped' || platform.closing() || Date.now() > deadline) {
            throw new ReadModelBehind(billingProjection.name, position, status?.checkpoint ?? 0n, status?.state ?? 'unknown');
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
    });
    // Settles a closed period again when a late reading, a price revision or a portfolio change touches it.
    const watcher = new SettlementWatcher({
      store: platform.store,
      commands: platform.commands,
      settlement: service,
      sql: platform.sql,
      schema: platform.schema,
      closedPeriods: (zone, endsAfter) => readModel.closedPeriods(zone, endsAfter),
      settledZones: () => readModel.settledZones(),
      logger: platform.logger.child({ component: 'settlement-watcher' }),
    });
    return {
      service,
      readModel,
      start: () => watcher.start(),
      stop: () => watcher.stop(),
    };
  },
};
