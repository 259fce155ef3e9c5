import { ID_PATTERN } from '../values/index.ts';
/**
 * Who may do what is decided in the server (GraphQL scopes); the roles themselves, and which of
 * them act for one trader, fleet or customer, are part of the API key aggregate's rules.
 */
export const ROLES = ['operator', 'integrator', 'auditor', 'trader', 'fleet_manager', 'driver'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The roles that act for one party, and what their subject is: a trader's participant id, a fleet
 * manager's fleet id, a driver's customer id. Every other role acts for the whole platform.
 */
export const SUBJECT_OF_ROLE = { trader: 'traderId', fleet_manager: 'fleetId', driver: 'customerId' } as const;
export type ScopedRole = keyof typeof SUBJECT_OF_ROLE;

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

export const roleNeedsSubject = (role: Role): role is ScopedRole => Object.hasOwn(SUBJECT_OF_ROLE, role);

/** A subject: the id a trader, fleet or customer is known by elsewhere (1-64 letters, digits, _ . : @ -). */
export const SUBJECT_PATTERN = ID_PATTERN;
