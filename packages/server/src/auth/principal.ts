import type { Role } from '@v2g/domain';

/**
 * Who is calling, once authenticated. `id` is stable for one key or one token subject: it is the
 * `actor` of every event the caller causes, what log lines name, and the key a rate limit counts by.
 */
export type Principal = {
  /** `apikey:<keyId>` or `jwt:<issuer>:<sub>`. */
  id: string;
  kind: 'apikey' | 'jwt';
  role: Role;
  /** The trader, fleet or customer a trader, fleet manager or driver acts for; null for the other roles. */
  subject: string | null;
  /** The key's name, or the token's `sub`. */
  name: string;
};
