import { isRole, ROLES, type Role } from '@v2g/domain';
import { ConfigError, integer, read } from './config-values.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Limits and hardening of the HTTP and GraphQL surface (README, Limits and hardening). */
export type HardeningConfig = {
  operationLimits: OperationLimits;
  /** Largest request body accepted, in bytes (413 above). */
  maxBodyBytes: number;
  rateLimit: RateLimitConfig;
  cors: CorsConfig;
  exposure: ExposureConfig;
};

/**
 * How much the API tells about itself (README, Limits and hardening). In production: the schema
 * only to the roles that build against it, no "Did you mean …" hints, /readyz details only to an
 * operator; elsewhere everything, for whoever is developing.
 */
export type ExposureConfig = {
  /** Roles whose operations may use `__schema` and `__type` (INTROSPECTION_ROLES). */
  introspectionRoles: readonly Role[];
  /** graphql-js's "Did you mean …?" hints in validation and input errors (GRAPHQL_SUGGESTIONS). */
  suggestions: boolean;
  /** Who sees /readyz's reasons, store and projections (READYZ_DETAILS): everybody, or an operator's key only. */
  readinessDetails: 'public' | 'operator';
};

/** What one GraphQL operation may ask for (graphql/operation-limits.ts). */
export type OperationLimits = {
  maxDepth: number;
  maxComplexity: number;
  maxAliases: number;
  /** Tokens of the whole document, counted before it is parsed. */
  maxTokens: number;
};

/** A token bucket per principal (or per client IP without one): `burst` at once, refilled at `perMinute`. */
export type RateLimitConfig = {
  /** 0: no rate limit. */
  perMinute: number;
  burst: number;
};

export type CorsConfig = {
  /** Origins (`https://app.example.com`) a browser may call from; `['*']`: any; empty: none but this server's own. */
  origins: readonly string[];
  /** Send `Access-Control-Allow-Credentials: true` (never with `*`). */
  allowCredentials: boolean;
};

export const DEFAULT_OPERATION_LIMITS: OperationLimits = { maxDepth: 12, maxComplexity: 10_000, maxAliases: 30, maxTokens: 2_000 };
const DEFAULT_MAX_BODY_BYTES = 1_048_576;
const DEFAULT_RATE_LIMIT: RateLimitConfig = { perMinute: 1_200, burst: 200 };

export function hardeningConfig(env: Env): HardeningConfig {
  const d = DEFAULT_OPERATION_LIMITS;
  return {
    operationLimits: {
      maxDepth: integer(env, 'GRAPHQL_MAX_DEPTH', d.maxDepth, 1, 1_000),
      maxComplexity: integer(env, 'GRAPHQL_MAX_COMPLEXITY', d.maxComplexity, 1, 1_000_000_000),
      maxAliases: integer(env, 'GRAPHQL_MAX_ALIASES', d.maxAliases, 0, 100_000),
      maxTokens: integer(env, 'GRAPHQL_MAX_TOKENS', d.maxTokens, 1, 1_000_000),
    },
    maxBodyBytes: integer(env, 'HTTP_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1_024, 1_073_741_824),
    rateLimit: {
      perMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', DEFAULT_RATE_LIMIT.perMinute, 0, 60_000_000),
      burst: integer(env, 'RATE_LIMIT_BURST', DEFAULT_RATE_LIMIT.burst, 1, 1_000_000),
    },
    cors: corsConfig(env),
    exposure: exposureConfig(env),
  };
}

/** Production's exposure without any variable set. */
const PRODUCTION_EXPOSURE: ExposureConfig = { introspectionRoles: ['operator'], suggestions: false, readinessDetails: 'operator' };
/** Everywhere else. */
export const DEVELOPMENT_EXPOSURE: ExposureConfig = { introspectionRoles: ROLES, suggestions: true, readinessDetails: 'public' };

function exposureConfig(env: Env): ExposureConfig {
  const defaults = read(env, 'NODE_ENV') === 'production' ? PRODUCTION_EXPOSURE : DEVELOPMENT_EXPOSURE;
  return {
    introspectionRoles: introspectionRoles(read(env, 'INTROSPECTION_ROLES')) ?? defaults.introspectionRoles,
    suggestions: bool(env, 'GRAPHQL_SUGGESTIONS') ?? defaults.suggestions,
    readinessDetails: readinessDetails(read(env, 'READYZ_DETAILS')) ?? defaults.readinessDetails,
  };
}

function introspectionRoles(value: string | undefined): readonly Role[] | undefined {
  if (value === undefined) return undefined;
  const names = value
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (names.length === 1 && (names[0] === '*' || names[0] === 'all')) return ROLES;
  if (names.length === 1 && names[0] === 'none') return [];
  const roles: Role[] = [];
  for (const name of names) {
    if (!isRole(name)) throw new ConfigError('INTROSPECTION_ROLES', `lists roles (${ROLES.join(', ')}), or is * (all) or none, not ${JSON.stringify(name)}`);
    if (!roles.includes(name)) roles.push(name);
  }
  return roles;
}

function readinessDetails(value: string | undefined): ExposureConfig['readinessDetails'] | undefined {
  if (value === undefined) return undefined;
  if (value === 'public' || value === 'operator') return value;
  throw new ConfigError('READYZ_DETAILS', `must be public or operator, not ${JSON.stringify(value)}`);
}

function bool(env: Env, name: string): boolean | undefined {
  const value = read(env, name)?.toLowerCase();
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new ConfigError(name, `must be true or false, not ${JSON.stringify(value)}`);
  return value === 'true';
}

function corsConfig(env: Env): CorsConfig {
  const origins = (read(env, 'CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (origins.includes('*') && origins.length > 1) throw new ConfigError('CORS_ORIGINS', 'is either * alone or a list of origins, not both');
  for (const origin of origins) {
    if (origin !== '*' && !isOrigin(origin)) {
      throw new ConfigError('CORS_ORIGINS', `must list origins such as https://app.example.com (scheme, host, optional port; no path), not ${JSON.stringify(origin)}`);
    }
  }
  const credentials = read(env, 'CORS_ALLOW_CREDENTIALS')?.toLowerCase() ?? 'false';
  if (credentials !== 'true' && credentials !== 'false') throw new ConfigError('CORS_ALLOW_CREDENTIALS', `must be true or false, not ${JSON.stringify(credentials)}`);
  const allowCredentials = credentials === 'true';
  if (allowCredentials && origins.includes('*')) {
    throw new ConfigError('CORS_ALLOW_CREDENTIALS', 'cannot be true when CORS_ORIGINS is *: list the origins that may send credentials');
  }
  return { origins, allowCredentials };
}

/** `scheme://host[:port]` exactly as a browser sends it in `Origin` (lowercase, no path, no default port). */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}
