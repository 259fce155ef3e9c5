import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { apiKeyDecider, apiKeyStreamId, API_KEY_ID, formatInstant, type ApiKeyCommand, type ApiKeyCreatedData, type ApiKeyEvent, type ApiKeyState, type Role } from '@v2g/domain';
import { categoryOf, checkRecordedCommand, type AppendResult, type EventStore, type RecordedEvent } from '@v2g/event-store';
import type { Logger } from 'pino';
import type { CommandContext, CommandHandler } from '../../command-handler.ts';
import { checkKnownAccount } from '../billing/index.ts';

/**
 * API keys: created and revoked by commands on their own `apikey-<keyId>` streams, checked on every
 * request. A key as presented is `v2g_<keyId>_<secret>`; the log keeps its id, role, subject and the
 * SHA-256 of its secret, never the secret. SHA-256 and not a slow KDF (scrypt, argon2): a generated
 * secret has 256 random bits, so nobody guesses it from its hash however fast the hash is, and a
 * slow hash on every request would make each one cost the server tens of milliseconds of CPU. (A
 * bootstrap key chosen by hand must have at least 32 characters; see parseApiKeyToken.)
 *
 * Checking a key reads its stream once and keeps the state in a small in-memory cache. The cache
 * follows the log: a subscription to the `apikey` category drops the entry of every key that gets a
 * new event, so a key revoked on another server stops working here as soon as the event reaches
 * this one (a LISTEN/NOTIFY away on PostgreSQL); a revoke through this service drops it before it
 * returns, so on the server that revoked it the key is refused at once. Entries also expire after
 * `cacheTtlMs`, which bounds what a broken subscription could leave stale.
 */

export const API_KEY_PREFIX = 'v2g_';
/** A key's secret: base64url; at least 32 characters (a generated one has 43: 32 random bytes). */
const SECRET = /^[A-Za-z0-9_-]{32,256}$/;

export type ApiKeyToken = { keyId: string; secret: string };

/** `v2g_<keyId>_<secret>` → its parts; null for anything else (no exception: it is the caller's input). */
export function parseApiKeyToken(token: string): ApiKeyToken | null {
  if (!token.startsWith(API_KEY_PREFIX)) return null;
  const rest = token.slice(API_KEY_PREFIX.length);
  const separator = rest.indexOf('_');
  if (separator < 0) return null;
  const keyId = rest.slice(0, separator);
  const secret = rest.slice(separator + 1);
  return API_KEY_ID.test(keyId) && SECRET.test(secret) ? { keyId, secret } : null;
}

export const formatApiKeyToken = ({ keyId, secret }: ApiKeyToken): string => `${API_KEY_PREFIX}${keyId}_${secret}`;

/** A fresh key: a 16-hex-digit id and a 32-byte random secret. */
export function generateApiKeyToken(): ApiKeyToken {
  return { keyId: randomBytes(8).toString('hex'), secret: randomBytes(32).toString('base64url') };
}

export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret, 'utf8').digest('hex')}`;
}

/** Constant-time comparison of a presented secret with a recorded hash. */
export function secretMatches(secret: string, secretHash: string): boolean {
  const [algorithm, hex] = secretHash.split(':');
  if (algorithm !== 'sha256' || hex === undefined || hex.length !== 64) return false;
  return timingSafeEqual(createHash('sha256').update(secret, 'utf8').digest(), Buffer.from(hex, 'hex'));
}

/** A key as operators see it: everything but the hash of its secret. */
export type ApiKeyView = {
  keyId: string;
  role: Role;
  subject: string | null;
  name: string;
  status: 'active' | 'revoked';
  createdAt: string;
  /** The actor that created it (metadata.actor of its ApiKeyCreated). */
  createdBy: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
};

/**
 * The roles whose subject is an account: a fleet manager's fleet, a driver's customer. Their key
 * may only be created for an account the ledger knows (one assigned a tariff), so that a typo in
 * the subject cannot make a key that acts for nobody, or for a party that does not exist yet.
 */
const ACCOUNT_SUBJECT_ROLES: readonly Role[] = ['fleet_manager', 'driver'];

/** What a verified key says about who is calling. */
export type VerifiedApiKey = { keyId: string; role: Role; subject: string | null; name: string };

export type ApiKeyServiceOptions = {
  /** Epoch ms now; tests drive their own clock. */
  clock?: () => number;
  /** Keys kept in memory (least recently used are dropped). */
  cacheSize?: number;
  /** How long a cached key is trusted without reading its stream again. */
  cacheTtlMs?: number;
  logger?: Logger;
};

type Cached = { state: ApiKeyState; until: number };

export class ApiKeyService {
  private readonly clock: () => number;
  private readonly cacheSize: number;
  private readonly cacheTtlMs: number;
  private readonly cache = new Map<string, Cached>();
  /** Moves on every invalidation: a read that started before one must not fill the cache after it. */
  private epoch = 0;
  private following: { stop: AbortController; done: Promise<void> } | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly commands: CommandHandler,
    private readonly options: ApiKeyServiceOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.cacheSize = options.cacheSize ?? 10_000;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
  }

  /**
   * Creates a key and returns it in full, once: `token` is null when the commandId was recorded
   * already (a retry), since the secret is nowhere to be found again.
   */
  async create(
    command: { role: Role; subject: string | null; name: string; at?: string },
    context: CommandContext,
  ): Promise<{ token: string | null; key: ApiKeyView; result: AppendResult }> {
    const recorded = await this.store.commandResult(context.commandId);
    if (recorded && categoryOf(recorded.streamId) === 'apikey') {
      checkRecordedCommand(recorded, context.commandId, recorded.streamId, context.fingerprint);
      const key = await this.get(recorded.streamId.slice('apikey-'.length));
      if (key) return { token: null, key, result: recorded };
    }
    const token = generateApiKeyToken();
    return this.record(token, command, context);
  }

  /**
   * Makes sure the key an operator chose at install time (AUTH_BOOTSTRAP_OPERATOR_KEY) exists as an
   * operator key. A key revoked since stays revoked; a key id recorded with another secret is an error.
   */
  async ensureBootstrapKey(token: ApiKeyToken, context: Omit<CommandContext, 'commandId'>): Promise<'created' | 'exists' | 'revoked'> {
    const { state } = await this.commands.load(apiKeyDecider, apiKeyStreamId(token.keyId));
    if (state.status !== 'none') {
      if (!secretMatches(token.secret, state.secretHash)) {
        throw new Error(`API key ${token.keyId} exists with another secret: choose another key id for the bootstrap key`);
      }
      return state.status === 'revoked' ? 'revoked' : 'exists';
    }
    await this.record(
      token,
      { role: 'operator', subject: null, name: 'bootstrap operator key (AUTH_BOOTSTRAP_OPERATOR_KEY)' },
      { ...context, commandId: `apikey-bootstrap/${token.keyId}` },
    );
    return 'created';
  }

  private async record(
    token: ApiKeyToken,
    command: { role: Role; subject: string | null; name: string; at?: string },
    context: CommandContext,
  ): Promise<{ token: string | null; key: ApiKeyView; result: AppendResult }> {
    const create: ApiKeyCommand = {
      type: 'CreateApiKey',
      keyId: token.keyId,
      role: command.role,
      subject: command.subject,
      name: command.name,
      secretHash: hashSecret(token.secret),
      at: command.at ?? formatInstant(this.clock()),
    };
    // The command's form first (a new key id has no stream yet), then what only the log knows.
    apiKeyDecider.decide(create, apiKeyDecider.initialState());
    if (ACCOUNT_SUBJECT_ROLES.includes(command.role)) await checkKnownAccount(this.commands, 'subject', command.subject);
    const handled = await this.commands.handle(apiKeyDecider, apiKeyStreamId(token.keyId), create, context);
    this.invalidate(token.keyId);
    const key = await this.get(token.keyId);
    if (!key) throw new Error(`API key ${token.keyId} was not recorded`);
    return { token: handled.result.duplicate ? null : formatApiKeyToken(token), key, result: handled.result };
  }

  /** Revokes a key: refused from now on (at once on this server). Revoking it again writes nothing. */
  async revoke(command: { keyId: string; reason: string | null; at?: string }, context: CommandContext): Promise<{ key: ApiKeyView; result: AppendResult }> {
    try {
      const handled = await this.commands.handle(
        apiKeyDecider,
        apiKeyStreamId(command.keyId),
        { type: 'RevokeApiKey', keyId: command.keyId, reason: command.reason, at: command.at ?? formatInstant(this.clock()) },
        context,
      );
      const key = await this.get(command.keyId);
      if (!key) throw new Error(`API key ${command.keyId} vanished`);
      return { key, result: handled.result };
    } finally {
      this.invalidate(command.keyId);
    }
  }

  async get(keyId: string): Promise<ApiKeyView | null> {
    if (!API_KEY_ID.test(keyId)) return null;
    const events = await this.store.readStream(apiKeyStreamId(keyId));
    return viewOf(events);
  }

  /** Every key, oldest first (keys are few: read from the log, no read model). */
  async list(): Promise<ApiKeyView[]> {
    const byStream = new Map<string, RecordedEvent[]>();
    let after: bigint | undefined;
    for (;;) {
      const page = await this.store.readCategory('apikey', { ...(after === undefined ? {} : { after }), limit: 1000 });
      for (const event of page) {
        const events = byStream.get(event.streamId) ?? [];
        events.push(event);
        byStream.set(event.streamId, events);
      }
      if (page.length < 1000) break;
      after = page.at(-1)!.globalPosition;
    }
    return [...byStream.values()].map(viewOf).filter((v): v is ApiKeyView => v !== null);
  }

  /** The key a caller presented, when it is one of ours, active, and its secret matches; else null. */
  async verify(presented: string): Promise<VerifiedApiKey | null> {
    const token = parseApiKeyToken(presented);
    if (!token) return null;
    const state = await this.state(token.keyId);
    if (state.status !== 'active' || !secretMatches(token.secret, state.secretHash)) return null;
    return { keyId: state.keyId, role: state.role, subject: state.subject, name: state.name };
  }

  private async state(keyId: string): Promise<ApiKeyState> {
    const now = this.clock();
    const cached = this.cache.get(keyId);
    if (cached && cached.until > now) {
      this.cache.delete(keyId);
      this.cache.set(keyId, cached);
      return cached.state;
    }
    const epoch = this.epoch;
    const events = await this.store.readStream(apiKeyStreamId(keyId));
    const state = events.map((e) => ({ type: e.type, data: e.data }) as ApiKeyEvent).reduce(apiKeyDecider.evolve, apiKeyDecider.initialState());
    // Unknown keys are not cached: a key created on another server works here at once.
    if (state.status !== 'none' && epoch === this.epoch) {
      this.cache.delete(keyId);
      this.cache.set(keyId, { state, until: now + this.cacheTtlMs });
      if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    }
    return state;
  }

  private invalidate(keyId: string): void {
    this.epoch += 1;
    this.cache.delete(keyId);
  }

  /** Follows the `apikey` category of the log from its head, dropping the cache entry of every key that changes. */
  async start(): Promise<void> {
    if (this.following) return;
    const stop = new AbortController();
    const from = await this.store.headPosition();
    const follow = async (after: bigint): Promise<void> => {
      let position = after;
      for (let attempt = 0; !stop.signal.aborted; attempt++) {
        try {
          for await (const event of this.store.subscribe({ after: position, category: 'apikey', signal: stop.signal })) {
            this.invalidate((event.data as { keyId: string }).keyId);
            position = event.globalPosition;
            attempt = 0;
          }
          return;
        } catch (error) {
          if (stop.signal.aborted) return;
          // While we cannot follow the log, nothing cached can be trusted.
          this.epoch += 1;
          this.cache.clear();
          this.options.logger?.warn({ err: error, attempt }, 'API key cache: lost the log; retrying');
          await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
        }
      }
    };
    this.following = { stop, done: follow(from) };
  }

  async stop(): Promise<void> {
    if (!this.following) return;
    this.following.stop.abort();
    await this.following.done;
    this.following = undefined;
  }
}

function viewOf(events: readonly RecordedEvent[]): ApiKeyView | null {
  return events.reduce<ApiKeyView | null>((view, event) => {
    const e = { type: event.type, data: event.data } as ApiKeyEvent;
    switch (e.type) {
      case 'ApiKeyCreated': {
        const { keyId, role, subject, name, createdAt }: ApiKeyCreatedData = e.data;
        return { keyId, role, subject, name, createdAt, createdBy: event.metadata.actor, status: 'active', revokedAt: null, revokedBy: null, revokeReason: null };
      }
      case 'ApiKeyRevoked':
        return view && { ...view, status: 'revoked', revokedAt: e.data.revokedAt, revokedBy: event.metadata.actor, revokeReason: e.data.reason };
      default: {
        const unreachable: never = e;
        throw new Error(`unknown event ${String((unreachable as { type: unknown }).type)}`);
      }
    }
  }, null);
}
