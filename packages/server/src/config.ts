import { createPublicKey, type KeyObject } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_TIME_BOUNDS, type TimeBounds } from '@v2g/domain';
import { DEFAULT_CHARGER_RESPONSE_MS, keyIdOf, parsePrivateKey, parsePublicKey } from '@v2g/ledger';
import { DEFAULT_AS_OF_PER_PRINCIPAL } from './as-of-limits.ts';
import { authConfig, type AuthConfig } from './auth/auth-config.ts';
import { ConfigError, integer, read, type Env } from './config-values.ts';
import { hardeningConfig, type HardeningConfig } from './hardening-config.ts';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './usage.ts';

export type { LogFormat, LogLevel };
// Where they are defined (config-values.ts, below config.ts and the modules it reads: no import circle), re-exported for callers.
export { ConfigError, integer, read, type Env };

/** Everything the server reads from its environment, checked once at start. */
export type Config = {
  /** A PostgreSQL server for the event store and the read models; null: embedded PGlite in dataDir. */
  databaseUrl: string | null;
  /** Where PGlite keeps its files when there is no databaseUrl (absolute path). */
  dataDir: string;
  /** The event log on KurrentDB instead of PostgreSQL; read models stay on PostgreSQL/PGlite. */
  eventStoreUrl: string | null;
  port: number;
  logLevel: LogLevel;
  /** JSON lines for machines, or pino-pretty's lines for a person at a terminal. */
  logFormat: LogFormat;
  nodeEnv: string;
  /** GraphiQL is served everywhere except in production. */
  graphiql: boolean;
  /** The PostgreSQL schema of the event tables, checkpoints and read models. */
  dbSchema: string;
  /** /readyz answers 503 when a projection is more than this many positions behind the head. */
  readyMaxLag: bigint;
  /** How long chargers take to follow a new setpoint, ms: known limits are met that long ahead. */
  chargerResponseMs: number;
  /** As-of questions (invoice, statement) one principal may have in progress at once; one more is refused with TOO_MANY_REQUESTS. */
  asOfMaxInFlightPerPrincipal: number;
  /** How far before the ledger's now a field time may be, and how far after it a departure. */
  timeBounds: TimeBounds;
  /** Log checkpoints (tamper evidence): how often the server appends one, and the keys. */
  checkpoint: CheckpointConfig;
  /** Projections to rebuild blue/green once started (REBUILD_PROJECTIONS, and `--rebuild` on the command line). */
  rebuildProjections: string[];
  /** API keys and JWT bearer tokens (see auth/auth-config.ts). */
  auth: AuthConfig;
  /** Operation limits, body size, rate limit, CORS (see hardening-config.ts). */
  hardening: HardeningConfig;
};

export type CheckpointConfig = {
  /** A checkpoint once this many events came after the last one; 0: not by count. */
  everyEvents: number;
  /** A checkpoint once this long has passed since the last one, when events came; 0: not by time. */
  everyMs: number;
  /** Ed25519 key that signs checkpoints; null: unsigned. A secret: never logged. */
  signingKey: KeyObject | null;
  /** The key `ledger verify` checks signatures with; by default the signing key's own. */
  publicKey: KeyObject | null;
  /**
   * A file outside the database that every checkpoint is published to, a JSON line each
   * (LEDGER_CHECKPOINT_SINK_FILE); null: none. `ledger verify` checks the store against it.
   */
  sinkFile: string | null;
};

// Lowercase on purpose: the store's NOTIFY channel is `<schema>_events`, and a projection's tables
// are quoted identifiers built from it (see event-store migrations and ledger quoteIdent).
const DB_SCHEMA = /^[a-z][a-z0-9_]{0,49}$/;
const EVENTSTORE_SCHEMES = /^(esdb|kurrentdb|kdb)(\+discover)?:\/\/\S+$/;

/** `stdoutIsTerminal` picks the default log format: pretty for a person, outside production. */
export function loadConfig(env: Env = process.env, stdoutIsTerminal = process.stdout.isTTY === true): Config {
  const nodeEnv = read(env, 'NODE_ENV') ?? 'development';
  return {
    databaseUrl: databaseUrl(env),
    dataDir: resolve(read(env, 'DATA_DIR') ?? './data'),
    eventStoreUrl: eventStoreUrl(env),
    port: integer(env, 'PORT', 4000, 1, 65_535),
    logLevel: logLevel(env),
    logFormat: oneOf(env, 'LOG_FORMAT', LOG_FORMATS, stdoutIsTerminal && nodeEnv !== 'production' ? 'pretty' : 'json'),
    nodeEnv,
    graphiql: nodeEnv !== 'production',
    dbSchema: dbSchema(env),
    readyMaxLag: BigInt(integer(env, 'READY_MAX_LAG', 1000, 0, Number.MAX_SAFE_INTEGER)),
    chargerResponseMs: integer(env, 'CHARGER_RESPONSE_MS', DEFAULT_CHARGER_RESPONSE_MS, 0, 300_000),
    asOfMaxInFlightPerPrincipal: integer(env, 'ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL', DEFAULT_AS_OF_PER_PRINCIPAL, 1, 1_000),
    timeBounds: {
      clockSkewMs: DEFAULT_TIME_BOUNDS.clockSkewMs,
      fieldBackdateMaxMs: integer(env, 'FIELD_TIME_MAX_AGE_HOURS', DEFAULT_TIME_BOUNDS.fieldBackdateMaxMs / 3_600_000, 1, 8_784) * 3_600_000,
      departureHorizonMs: integer(env, 'DEPARTURE_HORIZON_HOURS', DEFAULT_TIME_BOUNDS.departureHorizonMs / 3_600_000, 1, 8_784) * 3_600_000,
    },
    checkpoint: checkpointConfig(env),
    rebuildProjections: projectionNames(read(env, 'REBUILD_PROJECTIONS'), 'REBUILD_PROJECTIONS'),
    auth: authConfig(env),
    hardening: hardeningConfig(env),
  };
}

function checkpointConfig(env: Env): CheckpointConfig {
  const everyEvents = integer(env, 'LEDGER_CHECKPOINT_EVERY_EVENTS', 10_000, 0, 1_000_000_000);
  const everySeconds = integer(env, 'LEDGER_CHECKPOINT_EVERY_SECONDS', 600, 0, 31_536_000);
  const key = (name: string, parse: (text: string) => KeyObject): KeyObject | null => {
    const value = read(env, name);
    if (value === undefined) return null;
    try {
      return parse(value);
    } catch (error) {
      // The reason only: never the value, which may be a secret.
      throw new ConfigError(name, error instanceof Error ? error.message : String(error));
    }
  };
  const signingKey = key('LEDGER_CHECKPOINT_KEY', parsePrivateKey);
  const publicKey = key('LEDGER_CHECKPOINT_PUBLIC_KEY', parsePublicKey);
  if (signingKey && publicKey && keyIdOf(createPublicKey(signingKey)) !== keyIdOf(publicKey)) {
    throw new ConfigError('LEDGER_CHECKPOINT_PUBLIC_KEY', 'is not the public key of LEDGER_CHECKPOINT_KEY');
  }
  const sinkFile = read(env, 'LEDGER_CHECKPOINT_SINK_FILE') ?? null;
  if (sinkFile !== null && !isAbsolute(sinkFile)) {
    throw new ConfigError('LEDGER_CHECKPOINT_SINK_FILE', `must be an absolute path (a file outside the database), not ${JSON.stringify(sinkFile)}`);
  }
  return { everyEvents, everyMs: everySeconds * 1000, signingKey, publicKey: publicKey ?? (signingKey ? createPublicKey(signingKey) : null), sinkFile };
}

function databaseUrl(env: Env): string | null {
  const value = read(env, 'DATABASE_URL');
  if (value === undefined) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a URL: expected postgres://user[:password]@host[:port]/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  return value;
}

function eventStoreUrl(env: Env): string | null {
  const value = read(env, 'EVENTSTORE_URL');
  if (value === undefined) return null;
  if (!EVENTSTORE_SCHEMES.test(value)) {
    throw new ConfigError('EVENTSTORE_URL', 'must be a KurrentDB connection string such as esdb://host:2113?tls=false');
  }
  return value;
}

function logLevel(env: Env): LogLevel {
  const value = read(env, 'LOG_LEVEL') ?? 'info';
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
  if (!level) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(value)}`);
  return level;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const value = read(env, name);
  if (value === undefined) return fallback;
  const found = values.find((v) => v === value.toLowerCase());
  if (!found) throw new ConfigError(name, `must be one of ${values.join(', ')}, not ${JSON.stringify(value)}`);
  return found;
}

function dbSchema(env: Env): string {
  const value = read(env, 'DB_SCHEMA') ?? 'v2g';
  if (!DB_SCHEMA.test(value)) {
    throw new ConfigError('DB_SCHEMA', `must be a lowercase letter then lowercase letters, digits or _ (at most 50), not ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * A comma-separated list of projection names (REBUILD_PROJECTIONS, `--rebuild`): the form only;
 * `checkProjectionNames` then checks them against the projections the server has.
 */
export function projectionNames(value: string | undefined, variable: string): string[] {
  if (value === undefined) return [];
  const names = value.split(',').map((name) => name.trim());
  const bad = names.find((name) => !/^[a-z][a-z0-9_]*$/.test(name));
  if (bad !== undefined) throw new ConfigError(variable, `must be projection names separated by commas (e.g. billing,settlement), not ${JSON.stringify(value)}`);
  return [...new Set(names)];
}

export function checkProjectionNames(names: readonly string[], known: readonly string[], variable: string): void {
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new ConfigError(variable, `names no projection ${unknown.map((n) => JSON.stringify(n)).join(', ')}; projections: ${known.join(', ')}`);
}
