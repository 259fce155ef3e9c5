import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { AccountNotFound, InvalidCommand, isRole, ROLES, roleNeedsSubject, SUBJECT_OF_ROLE, type Role } from '@v2g/domain';
import { ApiKeyService, CommandHandler, type ApiKeyView } from '@v2g/ledger';
import { loadConfig } from '../../config.ts';
import { EXIT, UsageError, type Command } from '../command.ts';
import { openOrCreateConfiguredStore } from '../open-store.ts';

/**
 * `pnpm ledger apikey create|list|revoke`: the way to the first operator key on a fresh install
 * (then keys are managed through GraphQL as well). Unlike the read-only commands it opens the store
 * as the server does, creating the embedded one in DATA_DIR when it is not there yet.
 */
export const apikeyCommand: Command = {
  name: 'apikey',
  usage: `Usage: pnpm ledger apikey create --role ROLE [--subject ID] --name NAME [--json]
       pnpm ledger apikey list [--json]
       pnpm ledger apikey revoke KEY_ID [--reason TEXT]

create   records a new key and prints it on stdout, once: v2g_<keyId>_<secret>. Only a SHA-256
         of the secret is stored; nobody can show it again. Send it as
         Authorization: Bearer v2g_<keyId>_<secret>   (GraphiQL: the Headers tab).
list     every key: id, role, subject, name, status (never a secret).
revoke   the key is refused from then on.

Roles: ${ROLES.join(', ')}. A trader key needs --subject <traderId>, a fleet_manager key
--subject <fleetId>, a driver key --subject <customerId>; the other roles take none. A fleet or
customer must be a known account (one assigned a tariff: mutation assignTariff), otherwise the
key is refused (exit code 2) and nothing is recorded.

Options:
  --role ROLE      the key's role (create)
  --subject ID     the trader, fleet or customer it acts for (create)
  --name NAME      whose key it is, for humans (create)
  --reason TEXT    why it is revoked (revoke)
  --json           JSON on stdout
  -h, --help       this text

The store comes from the server's variables (pnpm start --help): DATABASE_URL, DATA_DIR,
EVENTSTORE_URL, DB_SCHEMA. With the embedded store (no DATABASE_URL) stop the server first:
PGlite serves one process, and the command is refused (exit code 3) while the server runs. Events
are recorded with actor cli:<your user name>.

Exit codes: 0 done; 1 failed (an unknown key, say); 2 bad usage or configuration (an unknown
fleet or customer as --subject, say); 3 the embedded
store is in use by another process (nothing done).
`,
  whileInUse:
    'Stop the server first, or manage keys through it with an operator key: mutation { createApiKey(input: …) } / ' +
    'revokeApiKey(input: …), query { apiKeys { keyId role name status } }.',
  options: {
    role: { type: 'string' },
    subject: { type: 'string' },
    name: { type: 'string' },
    reason: { type: 'string' },
    json: { type: 'boolean' },
  },
  positionals: { min: 1, max: 2 },
  async run({ values, positionals }, io) {
    const [action, keyId] = positionals as [string, string | undefined];
    if (!['create', 'list', 'revoke'].includes(action)) throw new UsageError(`unknown action ${JSON.stringify(action)}: create, list or revoke`);
    if (action === 'revoke' && keyId === undefined) throw new UsageError('revoke needs the key id: pnpm ledger apikey revoke KEY_ID');
    if (action !== 'revoke' && keyId !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(keyId)}`);
    const create = action === 'create' ? createOptions(values) : undefined;
    const config = loadConfig(io.env);
    const opened = await openOrCreateConfiguredStore(config, `ledger apikey ${action}`);
    const context = { commandId: randomUUID(), actor: `cli:${userName()}` };
    try {
      const apiKeys = new ApiKeyService(opened.store, new CommandHandler(opened.store));
      if (create) {
        const { token, key } = await createKey(apiKeys, create, context);
        if (values.json === true) io.stdout.write(`${JSON.stringify({ ...key, token })}\n`);
        else {
          io.stdout.write(`${token}\n`);
          io.stderr.write(
            `API key ${key.keyId} (${key.role}${key.subject ? ` for ${key.subject}` : ''}) created. This is the only time it is shown: send it as Authorization: Bearer <key>.\n`,
          );
        }
      } else if (action === 'list') {
        const keys = await apiKeys.list();
        io.stdout.write(values.json === true ? `${JSON.stringify(keys)}\n` : table(keys));
      } else {
        const { key, result } = await apiKeys.revoke({ keyId: keyId!, reason: typeof values.reason === 'string' ? values.reason : null }, context);
        if (values.json === true) io.stdout.write(`${JSON.stringify({ ...key, duplicate: result.duplicate })}\n`);
        else io.stdout.write(`API key ${key.keyId} revoked${result.firstVersion === null ? ' (it was already)' : ''}\n`);
      }
    } finally {
      await opened.close();
    }
    return EXIT.ok;
  },
};

/** A subject the ledger does not know, or a malformed one, is the caller's mistake: a usage error (exit code 2), nothing recorded. */
async function createKey(apiKeys: ApiKeyService, create: { role: Role; subject: string | null; name: string }, context: { commandId: string; actor: string }) {
  try {
    return await apiKeys.create(create, context);
  } catch (error) {
    if (error instanceof AccountNotFound) {
      throw new UsageError(
        `--subject ${create.subject}: no ${create.role === 'driver' ? 'customer' : 'fleet'} account ${create.subject} is known; assign it a tariff first (mutation assignTariff), then create the key`,
      );
    }
    if (error instanceof InvalidCommand) throw new UsageError(error.message);
    throw error;
  }
}

function createOptions(values: Record<string, unknown>): { role: Role; subject: string | null; name: string } {
  const { role, subject, name } = values;
  if (typeof role !== 'string' || !isRole(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  if (typeof name !== 'string' || name.trim() === '') throw new UsageError('--name is required: whose key it is');
  if (roleNeedsSubject(role) && typeof subject !== 'string') throw new UsageError(`a ${role} key needs --subject <${SUBJECT_OF_ROLE[role]}>`);
  if (!roleNeedsSubject(role) && subject !== undefined) throw new UsageError(`a ${role} key acts for the whole platform: leave --subject out`);
  return { role, subject: typeof subject === 'string' ? subject : null, name };
}

function table(keys: readonly ApiKeyView[]): string {
  if (keys.length === 0) return 'no API keys yet: pnpm ledger apikey create --role operator --name <you>\n';
  const rows = keys.map((k) => [k.keyId, k.role, k.subject ?? '-', k.status, k.createdAt, k.name]);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['KEY ID', 'ROLE', 'SUBJECT', 'STATUS', 'CREATED'][i]!.length));
  const line = (r: string[]) =>
    `${r
      .slice(0, 5)
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')}  ${r[5]}\n`;
  return line(['KEY ID', 'ROLE', 'SUBJECT', 'STATUS', 'CREATED', 'NAME']) + rows.map(line).join('');
}

function userName(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}
