import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.ts';
import type { LedgerDeps } from '../ledger-app.ts';

/** What every resolver gets: the ledger, and who asks, under which request id. */
export type GraphQLContext = {
  requestId: string;
  /** The request's logger: every line carries its request id and principal. */
  log: Logger;
  /** Who asks: authenticated before GraphQL runs (see auth/authenticate.ts). */
  principal: Principal;
  /** The principal's id, recorded as `actor` in the metadata of every event its commands append. */
  actor: string;
  ledger: LedgerDeps;
  /** Inside a mutation's resolver: the hash of what the client asked for (command-fingerprint-plugin.ts). */
  commandFingerprint?: string;
};
