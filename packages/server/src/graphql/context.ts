import type { Logger } from 'pino';
import type { LedgerDeps } from '../ledger-app.ts';

/** What every resolver gets: the ledger, and who asks, under which request id. */
export type GraphQLContext = {
  requestId: string;
  /** The request's logger: every line carries its request id. */
  log: Logger;
  /** Who issues commands; from the X-Actor header until auth arrives. */
  actor: string;
  ledger: LedgerDeps;
};
