import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { USAGE } from './usage.ts';
import { hardeningConfig } from './hardening-config.ts';

describe('hardeningConfig', () => {
  it('reads every variable', () => {
    expect(
      hardeningConfig({
        GRAPHQL_MAX_DEPTH: '8',
        GRAPHQL_MAX_COMPLEXITY: '500',
        GRAPHQL_MAX_ALIASES: '0',
        GRAPHQL_MAX_TOKENS: '300',
        HTTP_MAX_BODY_BYTES: '65536',
        RATE_LIMIT_PER_MINUTE: '0',
        RATE_LIMIT_BURST: '5',
        CORS_ORIGINS: ' https://app.example.com, http://localhost:5173 ',
        CORS_ALLOW_CREDENTIALS: 'TRUE',
        INTROSPECTION_ROLES: 'operator, integrator',
        GRAPHQL_SUGGESTIONS: 'false',
        READYZ_DETAILS: 'operator',
      }),
    ).toEqual({
      operationLimits: { maxDepth: 8, maxComplexity: 500, maxAliases: 0, maxTokens: 300 },
      maxBodyBytes: 65_536,
      rateLimit: { perMinute: 0, burst: 5 },
      cors: { origins: ['https://app.example.com', 'http://localhost:5173'], allowCredentials: true },
      exposure: { introspectionRoles: ['operator', 'integrator'], suggestions: false, readinessDetails: 'operator' },
    });
    expect(hardeningConfig({ CORS_ORIGINS: '*' }).cors).toEqual({ origins: ['*'], allowCredentials: false });
  });

  it('closes introspection, hints and /readyz details in production unless told otherwise', () => {
    expect(hardeningConfig({ NODE_ENV: 'production' }).exposure).toEqual({ introspectionRoles: ['operator'], suggestions: false, readinessDetails: 'operator' });
    expect(hardeningConfig({}).exposure).toEqual({
      introspectionRoles: ['operator', 'integrator', 'auditor', 'trader', 'fleet_manager', 'driver'],
      suggestions: true,
      readinessDetails: 'public',
    });
    expect(hardeningConfig({ NODE_ENV: 'production', INTROSPECTION_ROLES: '*', GRAPHQL_SUGGESTIONS: 'true', READYZ_DETAILS: 'public' }).exposure).toEqual(
      hardeningConfig({}).exposure,
    );
    expect(hardeningConfig({ INTROSPECTION_ROLES: 'none' }).exposure.introspectionRoles).toEqual([]);
    expect(() => hardeningConfig({ INTROSPECTION_ROLES: 'operator,admin' })).toThrow(/INTROSPECTION_ROLES .*not "admin"/);
    expect(() => hardeningConfig({ READYZ_DETAILS: 'everyone' })).toThrow(/READYZ_DETAILS/);
    expect(() => hardeningConfig({ GRAPHQL_SUGGESTIONS: 'yes' })).toThrow(/GRAPHQL_SUGGESTIONS/);
  });

  it('lists its variables in --help', () => {
    for (const variable of [
      'GRAPHQL_MAX_DEPTH',
      'GRAPHQL_MAX_COMPLEXITY',
      'GRAPHQL_MAX_ALIASES',
      'GRAPHQL_MAX_TOKENS',
      'HTTP_MAX_BODY_BYTES',
      'RATE_LIMIT_PER_MINUTE',
      'RATE_LIMIT_BURST',
      'CORS_ORIGINS',
      'CORS_ALLOW_CREDENTIALS',
      'INTROSPECTION_ROLES',
      'GRAPHQL_SUGGESTIONS',
      'READYZ_DETAILS',
    ]) {
      expect(USAGE).toContain(`  ${variable} `);
    }
  });

  it('refuses bad values, naming the variable', () => {
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(refused({ GRAPHQL_MAX_DEPTH: '0' })).toBe('GRAPHQL_MAX_DEPTH must be from 1 to 1000, not 0');
    expect(refused({ GRAPHQL_MAX_COMPLEXITY: 'lots' })).toMatch(/^GRAPHQL_MAX_COMPLEXITY must be a whole number/);
    expect(refused({ HTTP_MAX_BODY_BYTES: '1mb' })).toMatch(/^HTTP_MAX_BODY_BYTES must be a whole number/);
    expect(refused({ RATE_LIMIT_BURST: '0' })).toBe('RATE_LIMIT_BURST must be from 1 to 1000000, not 0');
    expect(refused({ CORS_ORIGINS: 'https://app.example.com/' })).toMatch(/^CORS_ORIGINS must list origins such as https:\/\/app.example.com/);
    expect(refused({ CORS_ORIGINS: 'app.example.com' })).toMatch(/^CORS_ORIGINS must list origins/);
    expect(refused({ CORS_ORIGINS: '*, https://app.example.com' })).toBe('CORS_ORIGINS is either * alone or a list of origins, not both');
    expect(refused({ CORS_ALLOW_CREDENTIALS: 'yes' })).toBe('CORS_ALLOW_CREDENTIALS must be true or false, not "yes"');
    expect(refused({ CORS_ORIGINS: '*', CORS_ALLOW_CREDENTIALS: 'true' })).toMatch(/^CORS_ALLOW_CREDENTIALS cannot be true when CORS_ORIGINS is \*/);
  });

  it('never echoes a DATABASE_URL, which may carry a password', () => {
    for (const value of ['mysql://ledger:hunter2-db-pw@db.internal/ledger', 'ledger:hunter2-db-pw@db.internal', 'postgres://ledger:hunter2-db-pw@[bad']) {
      expect(() => loadConfig({ DATABASE_URL: value })).toThrow(/^DATABASE_URL /);
      expect(() => loadConfig({ DATABASE_URL: value })).not.toThrow(/hunter2/);
    }
  });
});
