import { CodedError, type Role, type Tier } from '@v2g/domain';

/**
 * What the party a session bills (a driver, a fleet manager) may state in its own session
 * commands. Facts from the field (the meter's registers at plug-in, when the car was plugged in or
 * out) come from chargers, meters and operators (operator, integrator keys), never from the party
 * they bill; what a billed party may ask for is bounded by its contract. No contract model exists
 * yet, so the tiers a billed role may ask for are these defaults; operators and integrators may
 * set any tier.
 */
const BILLED_ROLES: ReadonlySet<Role> = new Set<Role>(['driver', 'fleet_manager']);

/** The tiers a billed role may ask for at plug-in, until contracts say otherwise. */
const CONTRACT_TIERS: Readonly<Record<'driver' | 'fleet_manager', readonly Tier[]>> = {
  driver: ['normal'],
  fleet_manager: ['normal'],
};

/** Input fields of a session command that only the field (chargers, meters, operators) may state. */
export const FIELD_FACTS = {
  plugIn: ['at', 'meterStartImportWh', 'meterStartExportWh'],
  stopSession: ['at'],
} as const;

/** A role stating a field it may not state: `extensions.code` FORBIDDEN, the field as sent, nothing written. */
class ForbiddenField extends CodedError {
  readonly code = 'FORBIDDEN';
  constructor(field: string, role: Role, reason: string) {
    super(`the role ${role} may not set ${field}: ${reason}`, { field, role, reason });
  }
}

/**
 * Refuses what a billed role may not state in `mutation`'s input: a field fact it set (present
 * and not null), or a tier beyond its contract. Other roles pass.
 */
export function checkBilledPartyInput(role: Role, mutation: keyof typeof FIELD_FACTS, input: Record<string, unknown>): void {
  if (!BILLED_ROLES.has(role)) return;
  for (const field of FIELD_FACTS[mutation]) {
    if (input[field] != null) throw new ForbiddenField(field, role, 'it is a fact from the charger or meter, stated by an operator or integrator');
  }
  const tier = input['tier'];
  if (mutation === 'plugIn' && typeof tier === 'string') {
    const allowed = CONTRACT_TIERS[role as 'driver' | 'fleet_manager'];
    if (!allowed.includes(tier as Tier)) throw new ForbiddenField('tier', role, `the contract allows ${allowed.map((t) => t.toUpperCase()).join(', ')}`);
  }
}
