import { billingProjection } from '@v2g/projection-billing';
import type { ModuleDefinition } from '../module.ts';
import { BillingService } from './billing-service.ts';
import { billingReadModel, type BillingReadModel } from './billing-read-model.ts';

export * from './billing-service.ts';
export * from './billing-read-model.ts';
export * from './known-accounts.ts';

/** Billing: prices, tariffs, accounts and their invoices. */
export type BillingModule = { service: BillingService; readModel: BillingReadModel };

declare module '../module.ts' {
  interface Modules {
    billing: BillingModule;
  }
}

export const billingModule: ModuleDefinition<'billing'> = {
  name: 'billing',
  projections: [billingProjection],
  open(platform) {
    const readModel = billingReadModel(platform.sql, platform.tables(billingProjection));
    const service = new BillingService(platform.commands, {
      clock: platform.clock,
      readModel,
      loadSession: (sessionId) => platform.modules.grid.service.loadSession(sessionId),
    });
    return { service, readModel };
  },
};
