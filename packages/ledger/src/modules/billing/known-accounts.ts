import { AccountNotFound, accountDecider, accountStreamId, parseId } from '@v2g/domain';
import type { CommandHandler } from '../../command-handler.ts';

/**
 * The account a command names must be one the ledger knows: a customer or a fleet with an
 * `account-<id>` stream (it was assigned a tariff), so that what it is billed for, what a key acts
 * for, or whose energy a participant answers for has a payer and a price. Read from the account
 * aggregate, not a read model: a tariff just assigned counts at once. The id's form is checked
 * before anything is read; an unknown one is ACCOUNT_NOT_FOUND naming `field` as the client sent it.
 *
 * Only assignTariff may name a new account: it is what opens one.
 */
export async function checkKnownAccount(commands: Pick<CommandHandler, 'load'>, field: string, accountId: unknown): Promise<string> {
  const id = parseId(field, accountId);
  const { state } = await commands.load(accountDecider, accountStreamId(id));
  if (state.accountId === null) throw new AccountNotFound(field, id);
  return id;
}
