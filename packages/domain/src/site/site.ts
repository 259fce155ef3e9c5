import type { Decider } from '../decider.ts';
import { DomainError, InvalidCommand } from '../errors.ts';
import { parseNonNegative, toDecimalString } from '../quantities.ts';

/**
 * A site: one grid connection with an import and an export limit. The electrical tree below it,
 * sessions and allocation arrive with the grid issue; this is the root they hang from.
 */
export type SiteCommand =
  | { type: 'RegisterSite'; siteId: string; name: string; importLimitW: string; exportLimitW: string }
  | { type: 'RenameSite'; siteId: string; name: string };

export type SiteEvent =
  | { type: 'SiteRegistered'; data: { siteId: string; name: string; importLimitW: string; exportLimitW: string } }
  | { type: 'SiteRenamed'; data: { siteId: string; name: string } };

export type SiteState =
  | { status: 'unregistered' }
  | { status: 'registered'; siteId: string; name: string; importLimitW: string; exportLimitW: string };

export class SiteAlreadyRegistered extends DomainError {
  readonly code = 'SITE_ALREADY_REGISTERED';
  constructor(siteId: string) {
    super(`site ${siteId} is already registered`, { siteId });
  }
}

export class UnknownSite extends DomainError {
  readonly code = 'UNKNOWN_SITE';
  constructor(siteId: string) {
    super(`site ${siteId} is not registered`, { siteId });
  }
}

const SITE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/;

export const siteStreamId = (siteId: string): string => `site-${siteId}`;

export function checkSiteId(siteId: unknown): string {
  if (typeof siteId !== 'string' || !SITE_ID.test(siteId)) {
    throw new InvalidCommand('siteId', `${JSON.stringify(siteId)} must be 1-64 letters, digits or _ . : @ - (starting with a letter or digit)`);
  }
  return siteId;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    throw new InvalidCommand('name', 'must be a non-empty text of at most 200 characters');
  }
  return name.trim();
}

export const siteDecider: Decider<SiteState, SiteCommand, SiteEvent> = {
  initialState: () => ({ status: 'unregistered' }),

  decide(command, state) {
    switch (command.type) {
      case 'RegisterSite': {
        const siteId = checkSiteId(command.siteId);
        const name = checkName(command.name);
        const importLimitW = toDecimalString(parseNonNegative('importLimitW', command.importLimitW));
        const exportLimitW = toDecimalString(parseNonNegative('exportLimitW', command.exportLimitW));
        if (state.status === 'registered') throw new SiteAlreadyRegistered(siteId);
        return [{ type: 'SiteRegistered', data: { siteId, name, importLimitW, exportLimitW } }];
      }
      case 'RenameSite': {
        const siteId = checkSiteId(command.siteId);
        const name = checkName(command.name);
        if (state.status !== 'registered') throw new UnknownSite(siteId);
        if (state.name === name) return [];
        return [{ type: 'SiteRenamed', data: { siteId, name } }];
      }
      default: {
        const unreachable: never = command;
        throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'SiteRegistered':
        return { status: 'registered', ...event.data };
      case 'SiteRenamed':
        return state.status === 'registered' ? { ...state, name: event.data.name } : state;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown event ${JSON.stringify(unreachable)}`);
      }
    }
  },
};
