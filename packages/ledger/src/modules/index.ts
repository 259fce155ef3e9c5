import type { Projection } from '@v2g/read-model';
import type { Duties, ModuleDefinition, Modules, Platform } from './module.ts';
import { catalogueModule } from './catalogue/index.ts';
import { gridModule } from './grid/index.ts';
import { meteringModule } from './metering/index.ts';
import { billingModule } from './billing/index.ts';
import { settlementModule } from './settlement/index.ts';
import { marketModule } from './market/index.ts';
import { accessModule } from './access/index.ts';
import { evidenceModule } from './evidence/index.ts';

/**
 * The composition root: every module of the ledger, one entry each (and its import above). A
 * module's folder holds all of it; this list is the only place that names them all. The order is
 * the order their read models are listed in, and the order their duties start (stopped in reverse).
 */
// One module a line: adding a module is adding its line.
// prettier-ignore
export const MODULES: readonly ModuleDefinition[] = [
  catalogueModule,
  gridModule,
  meteringModule,
  billingModule,
  settlementModule,
  marketModule,
  accessModule,
  evidenceModule,
];

/** Every read model the ledger builds, in the order status lists them. */
export const PROJECTIONS: readonly Projection[] = MODULES.flatMap((module) => module.projections);

/** The opened modules and their background duties. */
export type OpenedModules = {
  modules: Modules;
  /** Starts every module's duties, in order (call once the projections run). */
  start(): Promise<void>;
  /** Stops them in reverse order. */
  stop(): Promise<void>;
};

/** Opens every module on the platform; a module reaches the others through `platform.modules`. */
export function openModules(platform: Omit<Platform, 'modules'>): OpenedModules {
  // Filled as the modules open; modules look their peers up when they use them, not before.
  const modules = {} as Modules;
  const duties: Duties[] = [];
  for (const definition of MODULES) {
    const opened = definition.open({ ...platform, modules });
    (modules as unknown as Record<string, unknown>)[definition.name] = opened;
    duties.push(opened);
  }
  return {
    modules,
    async start() {
      for (const duty of duties) await duty.start?.();
    },
    async stop() {
      for (const duty of [...duties].reverse()) await duty.stop?.();
    },
  };
}
