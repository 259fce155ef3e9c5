import { AccountNotFound, ApiKeyExists, ROLES, UnknownApiKey, type Role } from '@v2g/domain';
import type { ApiKeyView } from '@v2g/ledger';
import { OPERATOR, OPERATOR_AUDITOR } from '../access.ts';
import { builder, type BuilderTypes } from '../builder.ts';
import { COMMAND_ERRORS, ErrorInterface } from './errors.ts';
import { commandContext } from '../command-context.ts';

/**
 * API keys (`apikey-<keyId>` streams): operators create and revoke them; the secret of a new key
 * is in the create's answer and nowhere else (the log keeps its SHA-256). See auth/ and README,
 * "Authentication and roles".
 */

const RoleRef = builder.enumType('Role', {
  description: 'What a principal may do: see README, Authentication and roles.',
  values: Object.fromEntries(ROLES.map((role) => [role.toUpperCase(), { value: role }])) as Record<Uppercase<Role>, { value: Role }>,
});

const ApiKeyStatusRef = builder.enumType('ApiKeyStatus', { values: { ACTIVE: { value: 'active' }, REVOKED: { value: 'revoked' } } as const });

const ApiKeyRef = builder.objectRef<ApiKeyView>('ApiKey').implement({
  description: 'An API key, without its secret (the ledger keeps only a hash of it).',
  fields: (t) => ({
    keyId: t.exposeID('keyId', { description: 'The `<keyId>` of `v2g_<keyId>_<secret>`; events it causes carry actor `apikey:<keyId>`.' }),
    role: t.field({ type: RoleRef, resolve: (k) => k.role }),
    subject: t.exposeID('subject', { nullable: true, description: 'The traderId, fleetId or customerId a trader, fleet manager or driver key acts for.' }),
    name: t.exposeString('name'),
    status: t.field({ type: ApiKeyStatusRef, resolve: (k) => k.status }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    createdBy: t.exposeString('createdBy', { description: 'The actor that created it.' }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
    revokedBy: t.exposeString('revokedBy', { nullable: true }),
    revokeReason: t.exposeString('revokeReason', { nullable: true }),
  }),
});

builder.objectType(ApiKeyExists, {
  name: 'ApiKeyExistsError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ keyId: t.id({ resolve: (e) => String(e.details.keyId) }) }),
});

builder.objectType(UnknownApiKey, {
  name: 'UnknownApiKeyError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ keyId: t.id({ resolve: (e) => String(e.details.keyId) }) }),
});

type KeyPayloadShape = { commandId: string; duplicate: boolean; streamId: string; position: bigint | null; apiKey: ApiKeyView; token: string | null };

const keyPayloadFields = (t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, KeyPayloadShape>) => ({
  commandId: t.exposeID('commandId'),
  duplicate: t.exposeBoolean('duplicate', { description: 'True when this commandId was already recorded: nothing new was written.' }),
  streamId: t.exposeID('streamId'),
  position: t.field({ type: 'Position', nullable: true, resolve: (p: KeyPayloadShape) => p.position }),
  apiKey: t.field({ type: ApiKeyRef, resolve: (p: KeyPayloadShape) => p.apiKey }),
});

const CreateApiKeyPayload = builder.objectRef<KeyPayloadShape>('CreateApiKeyPayload').implement({
  description: 'A new key. Its secret is in `token`, this once: store it now.',
  fields: (t) => ({
    ...keyPayloadFields(t),
    token: t.exposeString('token', {
      nullable: true,
      description: 'The key to send as `Authorization: Bearer <token>`, shown this once; null when the commandId was recorded before (the secret is not kept).',
    }),
  }),
});

const RevokeApiKeyPayload = builder.objectRef<KeyPayloadShape>('RevokeApiKeyPayload').implement({
  description: 'The key is refused from now on.',
  fields: (t) => keyPayloadFields(t),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    commandId: t.id({ required: true, description: 'Chosen by the client, unique per command.' }),
    role: t.field({ type: RoleRef, required: true }),
    subject: t.id({
      description:
        'Required for TRADER (its traderId), FLEET_MANAGER (fleetId) and DRIVER (customerId); left out for the other roles. A fleet or customer must be a known account (assignTariff opens one): otherwise AccountNotFoundError naming subject.',
    }),
    name: t.string({ required: true, description: 'Whose key it is, for humans.' }),
  }),
});

const RevokeApiKeyInput = builder.inputType('RevokeApiKeyInput', {
  fields: (t) => ({
    commandId: t.id({ required: true }),
    keyId: t.id({ required: true }),
    reason: t.string(),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.field({
    type: [ApiKeyRef],
    description: 'Every API key, oldest first, without secrets.',
    authScopes: OPERATOR_AUDITOR,
    resolve: (_root, _args, ctx) => ctx.ledger.access.apiKeys.list(),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    description: 'Creates an API key for a role (and the trader, fleet or customer it acts for). The answer holds its secret, once.',
    authScopes: OPERATOR,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    errors: { types: [...COMMAND_ERRORS, ApiKeyExists, AccountNotFound], directResult: true, union: { name: 'CreateApiKeyResult' } },
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const { token, key, result } = await ctx.ledger.access.apiKeys.create(
        { role: input.role, subject: input.subject == null ? null : String(input.subject), name: input.name },
        commandContext(ctx, commandId),
      );
      // The key id, never the token.
      ctx.log.info({ commandId, command: 'CreateApiKey', streamId: result.streamId, keyId: key.keyId, duplicate: result.duplicate }, 'command handled');
      return { commandId, duplicate: result.duplicate, streamId: result.streamId, position: result.lastPosition, apiKey: key, token };
    },
  }),
  revokeApiKey: t.field({
    type: RevokeApiKeyPayload,
    description: 'Revokes an API key: refused from the next request on (at once on this server, as soon as the event reaches the others).',
    authScopes: OPERATOR,
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    errors: { types: [...COMMAND_ERRORS, UnknownApiKey], directResult: true, union: { name: 'RevokeApiKeyResult' } },
    resolve: async (_root, { input }, ctx) => {
      const commandId = String(input.commandId);
      const { key, result } = await ctx.ledger.access.apiKeys.revoke({ keyId: String(input.keyId), reason: input.reason ?? null }, commandContext(ctx, commandId));
      ctx.log.info({ commandId, command: 'RevokeApiKey', streamId: result.streamId, keyId: key.keyId, duplicate: result.duplicate }, 'command handled');
      return { commandId, duplicate: result.duplicate, streamId: result.streamId, position: result.lastPosition, apiKey: key, token: null };
    },
  }),
}));
