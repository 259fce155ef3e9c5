import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { parseApiKeyToken, type ApiKeyToken } from '@v2g/ledger';
import { ConfigError } from '../config-values.ts';

/** How callers prove who they are: API keys always; JWT bearer tokens when an issuer and its key are configured. */
export type AuthConfig = {
  /**
   * An operator key chosen at install time (`v2g_<keyId>_<secret>`), recorded (hashed) at start when
   * its key id is new. A secret: never logged.
   */
  bootstrapOperatorKey: ApiKeyToken | null;
  jwt: JwtConfig | null;
};

export type JwtConfig = {
  /** The `iss` every token must carry. */
  issuer: string;
  /** The `aud` every token must carry (one of). */
  audience: string;
  /**
   * The HS256 secret or the issuer's public key; or where the issuer publishes its JSON Web Key Set,
   * for issuers that rotate their keys.
   */
  key: KeyObject | JwksSource;
  /**
   * What the key may verify: HS256 for a secret; RS256, PS256, ES256/384/512 or EdDSA after the
   * public key's type; for a key set, the asymmetric algorithms configured (all of them by default).
   */
  algorithms: string[];
};

/**
 * A JSON Web Key Set, fetched when first needed, kept for ten minutes, and fetched again at once
 * when a token names a key it does not hold (a rotation), but not more often than every `cooldownMs`.
 */
export type JwksSource = { jwksUrl: URL; cooldownMs: number };

/** What a key set may verify: asymmetric signatures only (a published key set holds no secrets). */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const JWKS_COOLDOWN_MS = 30_000;

type Env = Readonly<Record<string, string | undefined>>;

/** An unset or empty variable is absent, as in config.ts. */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function authConfig(env: Env): AuthConfig {
  return { bootstrapOperatorKey: bootstrapKey(env), jwt: jwtConfig(env) };
}

function bootstrapKey(env: Env): ApiKeyToken | null {
  const value = read(env, 'AUTH_BOOTSTRAP_OPERATOR_KEY');
  if (value === undefined) return null;
  const token = parseApiKeyToken(value);
  // The rule only, never the value: it is a secret.
  if (!token) {
    throw new ConfigError(
      'AUTH_BOOTSTRAP_OPERATOR_KEY',
      'must be v2g_<key id>_<secret>: a key id of 1-32 lowercase letters or digits, a secret of 32-256 letters, digits, _ or - (see README, Authentication and roles)',
    );
  }
  return token;
}

const EC_ALGORITHMS: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

function jwtConfig(env: Env): JwtConfig | null {
  const issuer = read(env, 'AUTH_JWT_ISSUER');
  const audience = read(env, 'AUTH_JWT_AUDIENCE');
  const secret = read(env, 'AUTH_JWT_SECRET');
  const publicKey = read(env, 'AUTH_JWT_PUBLIC_KEY');
  const jwksUrl = read(env, 'AUTH_JWT_JWKS_URL');
  const algorithmList = read(env, 'AUTH_JWT_ALGORITHMS');
  const sources = [secret && 'AUTH_JWT_SECRET', publicKey && 'AUTH_JWT_PUBLIC_KEY', jwksUrl && 'AUTH_JWT_JWKS_URL'].filter((name): name is string => Boolean(name));
  if (sources.length === 0) {
    for (const name of ['AUTH_JWT_ISSUER', 'AUTH_JWT_AUDIENCE', 'AUTH_JWT_ALGORITHMS']) {
      if (read(env, name) !== undefined) throw new ConfigError('AUTH_JWT_SECRET', `or AUTH_JWT_PUBLIC_KEY or AUTH_JWT_JWKS_URL must be set when ${name} is`);
    }
    return null;
  }
  if (sources.length > 1) throw new ConfigError(sources[1]!, `and ${sources[0]} are both set: set one of them`);
  if (issuer === undefined) throw new ConfigError('AUTH_JWT_ISSUER', 'must be set when JWT bearer tokens are configured (the iss every token must carry)');
  if (audience === undefined) throw new ConfigError('AUTH_JWT_AUDIENCE', 'must be set when JWT bearer tokens are configured (the aud every token must carry)');
  if (algorithmList !== undefined && jwksUrl === undefined) {
    throw new ConfigError('AUTH_JWT_ALGORITHMS', 'applies to AUTH_JWT_JWKS_URL only (a secret or a public key has its own algorithm)');
  }
  if (jwksUrl !== undefined) return { issuer, audience, key: jwksSource(jwksUrl), algorithms: jwksAlgorithms(algorithmList) };
  if (secret !== undefined) {
    // HS256 wants a key at least as long as its hash: 256 bits.
    if (Buffer.byteLength(secret, 'utf8') < 32) throw new ConfigError('AUTH_JWT_SECRET', 'must be at least 32 bytes long (HS256)');
    return { issuer, audience, key: createSecretKey(Buffer.from(secret, 'utf8')), algorithms: ['HS256'] };
  }
  let key: KeyObject;
  try {
    // Environments often carry a PEM on one line with literal \n.
    key = createPublicKey(publicKey!.replaceAll('\\n', '\n'));
  } catch (error) {
    throw new ConfigError('AUTH_JWT_PUBLIC_KEY', `is not a PEM public key (SPKI): ${error instanceof Error ? error.message : String(error)}`);
  }
  const type = key.asymmetricKeyType;
  const algorithms =
    type === 'rsa'
      ? ['RS256']
      : type === 'rsa-pss'
        ? ['PS256']
        : type === 'ed25519'
          ? ['EdDSA', 'Ed25519']
          : type === 'ec' && EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? '']
            ? [EC_ALGORITHMS[key.asymmetricKeyDetails!.namedCurve!]!]
            : null;
  if (!algorithms) throw new ConfigError('AUTH_JWT_PUBLIC_KEY', `is a ${type ?? 'unknown'} key: use an RSA, EC (P-256/384/521) or Ed25519 public key`);
  return { issuer, audience, key, algorithms };
}

/** Only over TLS, but for a key server on this machine: whoever can change the key set can sign tokens. */
function jwksSource(value: string): JwksSource {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('AUTH_JWT_JWKS_URL', 'is not a URL (e.g. https://id.example.com/.well-known/jwks.json)');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError('AUTH_JWT_JWKS_URL', 'must be an https URL (plain http only for localhost)');
  }
  return { jwksUrl: url, cooldownMs: JWKS_COOLDOWN_MS };
}

function jwksAlgorithms(value: string | undefined): string[] {
  if (value === undefined) return [...JWKS_ALGORITHMS];
  const algorithms = value
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const unknown = algorithms.filter((a) => !(JWKS_ALGORITHMS as readonly string[]).includes(a));
  if (algorithms.length === 0 || unknown.length > 0) {
    throw new ConfigError('AUTH_JWT_ALGORITHMS', `must list algorithms among ${JWKS_ALGORITHMS.join(', ')}${unknown.length > 0 ? `; not ${unknown.join(', ')}` : ''}`);
  }
  return algorithms;
}
