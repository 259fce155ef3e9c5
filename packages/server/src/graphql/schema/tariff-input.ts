import { checkTariffDefinition, InvalidCommand, SPEED_BAND_NAMES, type TariffDefinition } from '@v2g/domain';
import { builder } from '../builder.ts';

/**
 * The typed input of a tariff. GraphQL inputs have no tagged unions, so each variant of the
 * energy price and of the export credit is a field of its own, and exactly one of them is given
 * (a "one of" input). The input is turned into the domain's TariffDefinition and checked by the
 * domain's own validation (checkTariffDefinition), the same checks as ever; a refusal names the
 * field as the client sent it (`tariff.energy.timeOfUse.windows[0].from`).
 */

const SpeedBandNameRef = builder.enumType('SpeedBandName', {
  values: Object.fromEntries(SPEED_BAND_NAMES.map((name) => [name.toUpperCase(), { value: name }])) as Record<
    'SLOW' | 'FAST' | 'ULTRA_FAST',
    { value: (typeof SPEED_BAND_NAMES)[number] }
  >,
});

const FixedEnergyPriceInput = builder.inputType('FixedEnergyPriceInput', {
  fields: (t) => ({ priceMinorPerKWh: t.field({ type: 'Decimal', required: true, description: 'Minor units per kWh, at least 0.' }) }),
});

const TimeOfUseWindowInput = builder.inputType('TimeOfUseWindowInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    daysOfWeek: t.intList({ description: "ISO days, 1 = Monday … 7 = Sunday, in the tariff's time zone; null: every day." }),
    from: t.string({ required: true, description: '"HH:MM" local time.' }),
    to: t.string({ required: true, description: '"HH:MM" local time; at or before `from`: the window wraps midnight.' }),
    priceMinorPerKWh: t.field({ type: 'Decimal', required: true }),
  }),
});

const TimeOfUseEnergyPriceInput = builder.inputType('TimeOfUseEnergyPriceInput', {
  fields: (t) => ({
    timeZone: t.string({ required: true, description: 'An IANA time zone, e.g. "Europe/Amsterdam".' }),
    defaultName: t.string({ required: true, description: 'The label of the price outside every window.' }),
    defaultMinorPerKWh: t.field({ type: 'Decimal', required: true }),
    windows: t.field({ type: [TimeOfUseWindowInput], required: true }),
  }),
});

const DynamicEnergyPriceInput = builder.inputType('DynamicEnergyPriceInput', {
  fields: (t) => ({
    zone: t.id({ required: true, description: 'The zone whose spot price the interval pays.' }),
    marginMinorPerKWh: t.field({ type: 'Decimal', required: true }),
    floorMinorPerKWh: t.field({ type: 'Decimal' }),
    capMinorPerKWh: t.field({ type: 'Decimal' }),
  }),
});

const EnergyPriceInput = builder.inputType('EnergyPriceInput', {
  description: 'Exactly one of fixed, timeOfUse, dynamic.',
  fields: (t) => ({
    fixed: t.field({ type: FixedEnergyPriceInput }),
    timeOfUse: t.field({ type: TimeOfUseEnergyPriceInput, description: "Priced by the window an interval's start falls in (local time), else the default." }),
    dynamic: t.field({ type: DynamicEnergyPriceInput, description: "The zone's spot price plus a margin, bounded by floor and cap." }),
  }),
});

const SpeedBandInput = builder.inputType('SpeedBandInput', {
  fields: (t) => ({
    name: t.field({ type: SpeedBandNameRef, required: true }),
    fromPowerW: t.field({ type: 'Decimal', required: true, description: 'The first band starts at 0; each next one higher.' }),
    surchargeMinorPerKWh: t.field({ type: 'Decimal', required: true }),
  }),
});

const FixedExportCreditInput = builder.inputType('FixedExportCreditInput', {
  fields: (t) => ({ creditMinorPerKWh: t.field({ type: 'Decimal', required: true }) }),
});

const SpotExportCreditInput = builder.inputType('SpotExportCreditInput', {
  fields: (t) => ({
    zone: t.id({ required: true }),
    marginMinorPerKWh: t.field({ type: 'Decimal', required: true }),
    floorMinorPerKWh: t.field({ type: 'Decimal' }),
  }),
});

const ExportCreditInput = builder.inputType('ExportCreditInput', {
  description: 'Exactly one of fixed, spot.',
  fields: (t) => ({
    fixed: t.field({ type: FixedExportCreditInput }),
    spot: t.field({ type: SpotExportCreditInput, description: "The zone's spot price plus a margin, at least the floor." }),
  }),
});

export const TariffInput = builder.inputType('TariffInput', {
  description: 'A tariff: what a session pays for energy, by speed, per session, and what V2G exports earn.',
  fields: (t) => ({
    tariffId: t.id({ required: true }),
    name: t.string({ required: true }),
    currency: t.string({ required: true, description: 'ISO 4217, e.g. "EUR".' }),
    energy: t.field({ type: EnergyPriceInput, required: true }),
    speedBands: t.field({ type: [SpeedBandInput], required: true, description: 'By fromPowerW; may be empty.' }),
    sessionFeeMinor: t.field({ type: 'Decimal', description: 'Charged once per session; null: none.' }),
    exportCredit: t.field({ type: ExportCreditInput, description: 'Null: exports earn nothing.' }),
  }),
});

type Input = typeof TariffInput.$inferInput;

/** The one variant given of a "one of" input, or InvalidCommand naming it. */
function oneOf<T extends Record<string, unknown>>(field: string, value: T): [keyof T & string, NonNullable<T[keyof T]>] {
  const given = Object.entries(value).filter(([, v]) => v !== null && v !== undefined);
  if (given.length !== 1) {
    throw new InvalidCommand(
      field,
      `give exactly one of ${Object.keys(value).length > 0 ? Object.keys(value).join(', ') : 'its variants'}, not ${given.length === 0 ? 'none' : given.map(([k]) => k).join(' and ')}`,
    );
  }
  return given[0] as [keyof T & string, NonNullable<T[keyof T]>];
}

/** The domain's name of each variant (its `kind`). */
const ENERGY_KINDS = { fixed: 'fixed', timeOfUse: 'time_of_use', dynamic: 'dynamic' } as const;
const CREDIT_KINDS = { fixed: 'fixed', spot: 'spot' } as const;

/** The domain's field path (`tariff.energy.windows[0]`) as the client sent it (`tariff.energy.timeOfUse.windows[0]`). */
function clientPath(field: string, energyVariant: string, creditVariant: string | null): string {
  if (field.startsWith('tariff.energy.')) return `tariff.energy.${energyVariant}.${field.slice('tariff.energy.'.length)}`;
  if (creditVariant !== null && field.startsWith('tariff.exportCredit.')) return `tariff.exportCredit.${creditVariant}.${field.slice('tariff.exportCredit.'.length)}`;
  return field;
}

/** The TariffDefinition the input states, checked as the domain checks every tariff. */
export function tariffFromInput(input: Input): TariffDefinition {
  const [energyVariant, energy] = oneOf('tariff.energy', { fixed: input.energy.fixed, timeOfUse: input.energy.timeOfUse, dynamic: input.energy.dynamic });
  const credit = input.exportCredit == null ? null : oneOf('tariff.exportCredit', { fixed: input.exportCredit.fixed, spot: input.exportCredit.spot });
  const definition = {
    tariffId: String(input.tariffId),
    name: input.name,
    currency: input.currency,
    energy: { kind: ENERGY_KINDS[energyVariant], ...energy, ...('zone' in energy ? { zone: String(energy.zone) } : {}) },
    speedBands: input.speedBands,
    sessionFeeMinor: input.sessionFeeMinor ?? null,
    exportCredit: credit === null ? null : { kind: CREDIT_KINDS[credit[0]], ...credit[1], ...('zone' in credit[1] ? { zone: String(credit[1].zone) } : {}) },
  };
  try {
    return checkTariffDefinition(definition);
  } catch (error) {
    if (!(error instanceof InvalidCommand)) throw error;
    const field = String(error.details['field']);
    const path = clientPath(field, energyVariant, credit?.[0] ?? null);
    if (path === field) throw error;
    throw new InvalidCommand(path, String(error.details['reason']));
  }
}
