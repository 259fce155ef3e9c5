import { checkKnownAccount as checkKnownAccountIn } from '@v2g/ledger';
import type { GraphQLContext } from './context.ts';

/** The account a command names must be known (see checkKnownAccount in @v2g/ledger): ACCOUNT_NOT_FOUND naming `field` otherwise. */
export function checkKnownAccount(ctx: GraphQLContext, field: string, accountId: string): Promise<string> {
  return checkKnownAccountIn(ctx.ledger.commands, field, accountId);
}
