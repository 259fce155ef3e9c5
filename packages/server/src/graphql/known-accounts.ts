import { AccountNotFound, accountDecider, accountStreamId, checkAccountId } from '@v2g/domain';
import type { GraphQLContext } from './context.ts';

/**
 * The account a command names must be one the ledger knows: a customer or a fleet with an
 * account-<id> stream (it was assigned a tariff), so that what it is billed for has a payer and a
 * price. Read from the account aggregate, not a read model: a tariff just assigned counts at once.
 * The id is checked before anything is read; an unknown one is ACCOUNT_NOT_FOUND naming `field`.
 */
export async function checkKnownAccount(ctx: GraphQLContext, field: string, accountId: string): Promise<string> {
  const id = checkAccountId(field, accountId);
  const { state } = await ctx.ledger.commands.load(accountDecider, accountStreamId(id));
  if (state.accountId === null) throw new AccountNotFound(field, id);
  return id;
}
