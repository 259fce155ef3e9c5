import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { parseApiKeyToken, type ApiKeyToken } from '@v2g/ledger';
import { ConfigError } from '../config.ts';

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
  /** The HS256 secret or the issuer's public key. */
  key: KeyObject;
  /** What the key may verify: HS256 for a secret; RS256, PS256, ES256/384/512 or EdDSA after the public key's type. */
  algorithms: string[];
};

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
  if (secret === undefined && publicKey === undefined) {
    if (issuer !== undefined) throw new ConfigError('AUTH_JWT_SECRET', 'or AUTH_JWT_PUBLIC_KEY must be set when AUTH_JWT_ISSUER is');
    if (audience !== undefined) throw new ConfigError('AUTH_JWT_SECRET', 'or AUTH_JWT_PUBLIC_KEY must be set when AUTH_JWT_AUDIENCE is');
    return null;
  }
  if (secret !== undefined && publicKey !== undefined) throw new ConfigError('AUTH_JWT_PUBLIC_KEY', 'and AUTH_JWT_SECRET are both set: set one of them');
  if (issuer === undefined) throw new ConfigError('AUTH_JWT_ISSUER', 'must be set when JWT bearer tokens are configured (the iss every token must carry)');
  if (audience === undefined) throw new ConfigError('AUTH_JWT_AUDIENCE', 'must be set when JWT bearer tokens are configured (the aud every token must carry)');
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
