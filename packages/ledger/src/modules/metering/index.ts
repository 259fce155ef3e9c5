import type { ModuleDefinition } from '../module.ts';
import { MeteringService } from './metering-service.ts';

export * from './metering-service.ts';

/** Metering: site and node meters (building load, generation, storage) and their readings. */
export type MeteringModule = { service: MeteringService };

declare module '../module.ts' {
  interface Modules {
    metering: MeteringModule;
  }
}

export const meteringModule: ModuleDefinition<'metering'> = {
  name: 'metering',
  // Readings are read by the grid and billing read models.
  projections: [],
  open(platform) {
    const { timeBounds } = platform.settings;
    return { service: new MeteringService(platform.store, platform.commands, { clock: platform.clock, ...(timeBounds ? { timeBounds } : {}) }) };
  },
};
