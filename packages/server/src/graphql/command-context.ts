import type { CommandContext } from '@v2g/ledger';
import type { GraphQLContext } from './context.ts';

/** What a mutation's resolver hands the ledger with a command: its id, who sent it, and its fingerprint. */
export function commandContext(ctx: GraphQLContext, commandId: string): CommandContext {
  return { commandId, actor: ctx.actor, ...(ctx.commandFingerprint === undefined ? {} : { fingerprint: ctx.commandFingerprint }) };
}
