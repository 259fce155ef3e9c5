import pg from 'pg';
import { EventStoreError, EventStoreUnavailable } from '../errors.ts';
import type { SqlClient, SqlExecutor, SqlRow } from './sql-client.ts';

export type PostgresConnectOptions = {
  /** Pooled connections (default 10). The LISTEN connection comes on top. */
  maxConnections?: number;
  connectionTimeoutMs?: number;
  /** Shows in pg_stat_activity; the LISTEN connection gets `<name>:listen`. */
  applicationName?: string;
};

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;
const TEXT_ARRAY_OID = 1009;

// pg-types types oids as an enum of the ones it knows; any oid is a fair question to ask it.
const defaultParser = pg.types.getTypeParser as (oid: number, format: 'text' | 'binary') => (value: string) => unknown;

/**
 * int8 stays a string whatever the process-wide pg defaults say (`pg.defaults.parseInt8` or a
 * global setTypeParser would turn it into a lossy number): the store converts it to bigint.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID) return (value: string) => value;
    if (oid === INT8_ARRAY_OID) return defaultParser(TEXT_ARRAY_OID, 'text');
    return defaultParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Opens a pool on a PostgreSQL server and checks that it answers. */
export async function connectPostgres(url: string, options: PostgresConnectOptions = {}): Promise<SqlClient> {
  const where = describeUrl(url);
  const config: pg.PoolConfig = {
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    application_name: options.applicationName ?? 'v2g-ledger',
    types: TYPES,
  };
  const pool = new pg.Pool(config);
  // An idle pooled client whose connection dies emits 'error' on the pool; unhandled, that would
  // crash the process. The pool drops that client and the next query opens a fresh one.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw unavailable(where, error);
  }
  return new PgClient(pool, config, where);
}

class PgClient implements SqlClient {
  readonly kind = 'server' as const;
  private readonly listener: Listener;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    config: pg.PoolConfig,
    private readonly where: string,
  ) {
    this.listener = new Listener({ ...config, application_name: `${config.application_name ?? 'v2g-ledger'}:listen` }, where);
  }

  async query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }> {
    try {
      const result = await this.pool.query<R>(text, params as unknown[] | undefined);
      return { rows: result.rows };
    } catch (error) {
      throw translate(this.where, error);
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailable(this.where, error);
    }
    const tx: SqlExecutor = {
      query: async <R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]) => {
        try {
          const result = await client.query<R>(text, params as unknown[] | undefined);
          return { rows: result.rows };
        } catch (error) {
          throw translate(this.where, error);
        }
      },
    };
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      // A failed statement can leave a session-level advisory lock held (the append lock is
      // taken and released around the events INSERT, not at transaction end); a pooled
      // connection must not carry it to its next user. A connection that cannot even roll back
      // is destroyed rather than returned to the pool.
      try {
        await client.query('ROLLBACK');
        await client.query('SELECT pg_advisory_unlock_all()');
        client.release();
      } catch (cleanup) {
        client.release(cleanup instanceof Error ? cleanup : true);
      }
      throw translate(this.where, error);
    }
  }

  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    return this.listener.add(channel, onNotify);
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([this.listener.close(), this.pool.end()]).then(() => {});
    return this.closing;
  }
}

/**
 * One dedicated connection for every LISTEN of this client (a pooled one would be handed to other
 * queries). When it drops, it reconnects with backoff, listens again and calls every callback once
 * with an empty payload: notifications sent while it was away are lost, so listeners must look.
 */
class Listener {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly channels = new Map<string, Set<(payload: string) => void>>();
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 100;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly where: string,
  ) {}

  async add(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new EventStoreUnavailable(`${this.where}: client is closed`);
    const callbacks = this.channels.get(channel) ?? new Set();
    const isNew = callbacks.size === 0;
    callbacks.add(onNotify);
    this.channels.set(channel, callbacks);
    try {
      const client = await this.connected();
      // connect() already listens on every channel it knows, this one included.
      if (isNew && client === this.client) await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (error) {
      callbacks.delete(onNotify);
      if (callbacks.size === 0) this.channels.delete(channel);
      throw unavailable(this.where, error);
    }
    return async () => {
      callbacks.delete(onNotify);
      if (callbacks.size > 0 || this.channels.get(channel) !== callbacks) return;
      this.channels.delete(channel);
      await this.client?.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.channels.clear();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connected(): Promise<pg.Client> {
    if (!this.client) {
      this.connecting ??= this.connect().finally(() => {
        this.connecting = undefined;
      });
      await this.connecting;
    }
    if (!this.client) throw new EventStoreUnavailable(`${this.where}: LISTEN connection is closed`);
    return this.client;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (message) => {
      for (const onNotify of this.channels.get(message.channel) ?? []) onNotify(message.payload ?? '');
    });
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    try {
      await client.connect();
      for (const channel of this.channels.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryDelayMs = 100;
  }

  private dropped(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.channels.size === 0) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.connected()
        .then(() => {
          for (const callbacks of this.channels.values()) for (const onNotify of callbacks) onNotify('');
        })
        .catch(() => {
          this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5000);
          this.scheduleReconnect();
        });
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** host:port/database of a connection string, never its password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const database = parsed.pathname.replace(/^\//, '');
    return `PostgreSQL at ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}${database ? `/${database}` : ''}`;
  } catch {
    return 'PostgreSQL (connection string is not a URL)';
  }
}

// SQLSTATE classes that mean "the server is not there or not usable", not "your statement is wrong".
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
const CONNECTION_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i;

/** Connection trouble becomes EventStoreUnavailable; statement errors and our own errors pass through. */
function translate(where: string, error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof EventStoreError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return unavailable(where, error);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_SQLSTATE.test(code) ? unavailable(where, error) : error;
  return CONNECTION_MESSAGE.test(error.message) ? unavailable(where, error) : error;
}

function unavailable(where: string, error: unknown): EventStoreUnavailable {
  if (error instanceof EventStoreUnavailable) return error;
  const code = (error as { code?: unknown } | null)?.code;
  // Node's happy-eyeballs connect fails with an AggregateError whose message is empty.
  const reason = error instanceof Error ? error.message || (typeof code === 'string' ? code : error.name) : String(error);
  return new EventStoreUnavailable(`cannot use ${where}: ${reason}`, typeof code === 'string' ? { code } : {});
}
