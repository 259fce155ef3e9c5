import type { PlugIn } from '@v2g/domain';

/**
 * The fields of a PlugIn command that most tests leave plain: no fleet, the normal tier, no
 * state-of-charge target, a 1.4 to 11 kW charger, no V2G, and the meter's registers at zero
 * (null). Spread it into a command and set the rest (or override any of these) after it.
 */
export const PLUG_IN_DEFAULTS: Pick<
  PlugIn,
  'fleetId' | 'tier' | 'targetSocPercent' | 'batteryCapacityWh' | 'socPercent' | 'minPowerW' | 'maxPowerW' | 'v2g' | 'meterStartImportWh' | 'meterStartExportWh'
> = {
  fleetId: null,
  tier: 'normal',
  targetSocPercent: null,
  batteryCapacityWh: null,
  socPercent: null,
  minPowerW: '1400',
  maxPowerW: '11000',
  v2g: null,
  meterStartImportWh: null,
  meterStartExportWh: null,
};
