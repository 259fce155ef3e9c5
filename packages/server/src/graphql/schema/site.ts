import { checkSiteId, SiteAlreadyRegistered, UnknownSite, type RegisteredSite, type SiteCommand } from '@v2g/domain';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { COMMAND_ERRORS } from './errors.ts';
import { OPERATOR, PLATFORM_READERS } from '../access.ts';
import { commandContext } from '../command-context.ts';
import { recorded, recordedFields, type Recorded } from './command-payload.ts';

/** Sites: register and rename through the command handler; read the aggregate's current state. */

export type SiteView = { siteId: string; name: string; importLimitW: string; exportLimitW: string; version: number; state: RegisteredSite };

type SitePayloadShape = Recorded & { site: SiteView | null };

export const Site = builder.objectRef<SiteView>('Site').implement({
  description: 'A site: one grid connection and its limits (current state of the site aggregate).',
  fields: (t) => ({
    siteId: t.exposeID('siteId'),
    name: t.exposeString('name'),
    importLimitW: t.field({ type: 'Decimal', description: 'Most power the connection may draw, W.', resolve: (s) => s.importLimitW }),
    exportLimitW: t.field({ type: 'Decimal', description: 'Most power the connection may feed back, W.', resolve: (s) => s.exportLimitW }),
    version: t.exposeInt('version', { description: 'The version of the site-<id> stream this state is at.' }),
  }),
});

function payloadType(name: string) {
  return builder.objectRef<SitePayloadShape>(name).implement({
    fields: (t) => ({
      ...recordedFields(t, {
        duplicate: 'True when this commandId was already recorded: this is the first result, nothing new was written.',
        streamVersion: "The stream's version after the command.",
        position: 'Global position of the last event written; null when the command changed nothing. Read models are up to date once their checkpoint reaches it.',
      }),
      site: t.field({ type: Site, nullable: true, resolve: (p) => p.site }),
    }),
  });
}

const RegisterSitePayload = payloadType('RegisterSitePayload');
const RenameSitePayload = payloadType('RenameSitePayload');

const RegisterSiteInput = builder.inputType('RegisterSiteInput', {
  fields: (t) => ({
    commandId: t.id({ required: true, description: 'Chosen by the client, unique per command: resending it is safe.' }),
    siteId: t.id({ required: true }),
    name: t.string({ required: true }),
    importLimitW: t.field({ type: 'Decimal', required: true }),
    exportLimitW: t.field({ type: 'Decimal', required: true }),
  }),
});

const RenameSiteInput = builder.inputType('RenameSiteInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    siteId: t.id({ required: true }),
    name: t.string({ required: true }),
  }),
});

/** A site's current state, from its stream (through the grid service), or null when it is not registered. */
export async function loadSite(ctx: GraphQLContext, siteId: string): Promise<SiteView | null> {
  const { version, site } = await ctx.ledger.grid.service.loadSite(siteId);
  return site === null ? null : { ...site, version, state: site };
}

async function handleSiteCommand(ctx: GraphQLContext, commandId: string, command: SiteCommand): Promise<SitePayloadShape> {
  const siteId = checkSiteId(command.siteId);
  const { result } = await ctx.ledger.grid.service.site(command, commandContext(ctx, commandId));
  return { ...recorded(ctx, commandId, command.type, result), site: await loadSite(ctx, siteId) };
}

builder.mutationFields((t) => ({
  registerSite: t.field({
    type: RegisterSitePayload,
    args: { input: t.arg({ type: RegisterSiteInput, required: true }) },
    errors: { types: [...COMMAND_ERRORS, SiteAlreadyRegistered], directResult: true, union: { name: 'RegisterSiteResult' } },
    authScopes: OPERATOR,
    resolve: (_root, { input }, ctx) =>
      handleSiteCommand(ctx, String(input.commandId), {
        type: 'RegisterSite',
        siteId: String(input.siteId),
        name: input.name,
        importLimitW: input.importLimitW,
        exportLimitW: input.exportLimitW,
      }),
  }),
  renameSite: t.field({
    type: RenameSitePayload,
    args: { input: t.arg({ type: RenameSiteInput, required: true }) },
    errors: { types: [...COMMAND_ERRORS, UnknownSite], directResult: true, union: { name: 'RenameSiteResult' } },
    authScopes: OPERATOR,
    resolve: (_root, { input }, ctx) => handleSiteCommand(ctx, String(input.commandId), { type: 'RenameSite', siteId: String(input.siteId), name: input.name }),
  }),
}));

builder.queryField('site', (t) =>
  t.field({
    type: Site,
    nullable: true,
    description: "A site's current state, read from its stream; null when it is not registered.",
    args: { siteId: t.arg.id({ required: true }) },
    authScopes: PLATFORM_READERS,
    resolve: (_root, args, ctx) => loadSite(ctx, checkSiteId(String(args.siteId))),
  }),
);
