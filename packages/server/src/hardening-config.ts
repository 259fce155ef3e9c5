import { ConfigError, integer, read } from './config.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Limits and hardening of the HTTP and GraphQL surface (README, Limits and hardening). */
export type HardeningConfig = {
  operationLimits: OperationLimits;
  /** Largest request body accepted, in bytes (413 above). */
  maxBodyBytes: number;
  rateLimit: RateLimitConfig;
  cors: CorsConfig;
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
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
export const DEFAULT_RATE_LIMIT: RateLimitConfig = { perMinute: 1_200, burst: 200 };

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
  };
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
