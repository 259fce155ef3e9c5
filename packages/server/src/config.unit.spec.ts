import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import { keyIdOf, privateKeySeedHex, rawPublicKey } from '@v2g/ledger';
import { describe, expect, it } from 'vitest';
import { checkProjectionNames, ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has safe defaults: embedded PGlite in ./data, port 4000, GraphiQL outside production', () => {
    expect(loadConfig({}, false)).toEqual({
      databaseUrl: null,
      dataDir: resolve('./data'),
      eventStoreUrl: null,
      port: 4000,
      logLevel: 'info',
      logFormat: 'json',
      nodeEnv: 'development',
      graphiql: true,
      dbSchema: 'v2g',
      readyMaxLag: 1000n,
      chargerResponseMs: 5_000,
      asOfMaxInFlightPerPrincipal: 4,
      timeBounds: { clockSkewMs: 300_000, fieldBackdateMaxMs: 604_800_000, departureHorizonMs: 604_800_000 },
      checkpoint: { everyEvents: 10_000, everyMs: 600_000, signingKey: null, publicKey: null, sinkFile: null },
      rebuildProjections: [],
      auth: { bootstrapOperatorKey: null, jwt: null },
      hardening: {
        operationLimits: { maxDepth: 12, maxComplexity: 10_000, maxAliases: 30, maxTokens: 2_000 },
        maxBodyBytes: 1_048_576,
        rateLimit: { perMinute: 1_200, burst: 200 },
        cors: { origins: [], allowCredentials: false },
        exposure: { introspectionRoles: ['operator', 'integrator', 'auditor', 'trader', 'fleet_manager', 'driver'], suggestions: true, readinessDetails: 'public' },
      },
    });
  });

  it('bounds field times and departures by FIELD_TIME_MAX_AGE_HOURS and DEPARTURE_HORIZON_HOURS', () => {
    expect(loadConfig({ FIELD_TIME_MAX_AGE_HOURS: '48', DEPARTURE_HORIZON_HOURS: '24' }).timeBounds).toEqual({
      clockSkewMs: 300_000,
      fieldBackdateMaxMs: 172_800_000,
      departureHorizonMs: 86_400_000,
    });
    expect(() => loadConfig({ FIELD_TIME_MAX_AGE_HOURS: '0' })).toThrow(ConfigError);
  });

  it('logs pretty lines to a person at a terminal outside production, JSON otherwise; LOG_FORMAT decides when set', () => {
    expect(loadConfig({}, true).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'production' }, true).logFormat).toBe('json');
    expect(loadConfig({}, false).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, false).logFormat).toBe('pretty');
    expect(loadConfig({ LOG_FORMAT: 'JSON' }, true).logFormat).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(new ConfigError('LOG_FORMAT', 'must be one of json, pretty, not "xml"'));
  });

  it("reads the checkpoint settings and keys (PEM or hex); the public key defaults to the signing key's", () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const seed = privateKeySeedHex(privateKey);
    const config = loadConfig({ LEDGER_CHECKPOINT_EVERY_EVENTS: '0', LEDGER_CHECKPOINT_EVERY_SECONDS: '30', LEDGER_CHECKPOINT_KEY: seed });
    expect(config.checkpoint).toMatchObject({ everyEvents: 0, everyMs: 30_000, sinkFile: null });
    // Down to a checkpoint a second, published to a file outside the database.
    expect(loadConfig({ LEDGER_CHECKPOINT_EVERY_SECONDS: '1', LEDGER_CHECKPOINT_SINK_FILE: '/var/lib/v2g/checkpoints.jsonl' }).checkpoint).toMatchObject({
      everyMs: 1000,
      sinkFile: '/var/lib/v2g/checkpoints.jsonl',
    });
    expect(keyIdOf(config.checkpoint.publicKey!)).toBe(keyIdOf(publicKey));
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const auditor = loadConfig({ LEDGER_CHECKPOINT_PUBLIC_KEY: pem });
    expect(auditor.checkpoint.signingKey).toBeNull();
    expect(keyIdOf(auditor.checkpoint.publicKey!)).toBe(keyIdOf(publicKey));
  });

  it('never puts a key in its error message', () => {
    const secret = 'f'.repeat(63);
    const attempt = () => loadConfig({ LEDGER_CHECKPOINT_KEY: secret });
    expect(attempt).toThrow(/^LEDGER_CHECKPOINT_KEY must be an Ed25519 private key/);
    expect(attempt).not.toThrow(secret);
    const other = privateKeySeedHex(generateKeyPairSync('ed25519').privateKey);
    const { publicKey } = generateKeyPairSync('ed25519');
    expect(() => loadConfig({ LEDGER_CHECKPOINT_KEY: other, LEDGER_CHECKPOINT_PUBLIC_KEY: rawPublicKey(publicKey).toString('hex') })).toThrow(
      'LEDGER_CHECKPOINT_PUBLIC_KEY is not the public key of LEDGER_CHECKPOINT_KEY',
    );
  });

  it('reads every variable', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      EVENTSTORE_URL: 'esdb://localhost:2113?tls=false',
      DATA_DIR: '/tmp/elsewhere',
      PORT: '8080',
      LOG_LEVEL: 'DEBUG',
      NODE_ENV: 'production',
      DB_SCHEMA: 'ledger_2',
      READY_MAX_LAG: '0',
      CHARGER_RESPONSE_MS: '2500',
      ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL: '16',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
      eventStoreUrl: 'esdb://localhost:2113?tls=false',
      dataDir: '/tmp/elsewhere',
      port: 8080,
      logLevel: 'debug',
      graphiql: false,
      dbSchema: 'ledger_2',
      readyMaxLag: 0n,
      chargerResponseMs: 2_500,
      asOfMaxInFlightPerPrincipal: 16,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: ' ' })).toMatchObject({ databaseUrl: null, port: 4000 });
  });

  it.each([
    ['PORT', '0', /PORT must be from 1 to 65535/],
    ['PORT', '70000', /PORT must be from 1 to 65535/],
    ['PORT', '80a', /PORT must be a whole number/],
    ['PORT', '-1', /PORT must be a whole number/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL is not a URL/],
    ['DATABASE_URL', 'mysql://h/db', /DATABASE_URL must start with postgres:\/\//],
    ['EVENTSTORE_URL', 'http://localhost:2113', /EVENTSTORE_URL must be a KurrentDB connection string/],
    ['DB_SCHEMA', 'Bad-Schema', /DB_SCHEMA must be a lowercase letter/],
    ['READY_MAX_LAG', 'lots', /READY_MAX_LAG must be a whole number/],
    ['CHARGER_RESPONSE_MS', '5s', /CHARGER_RESPONSE_MS must be a whole number/],
    ['CHARGER_RESPONSE_MS', '300001', /CHARGER_RESPONSE_MS must be from 0 to 300000/],
    ['ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL', '0', /ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL must be from 1 to 1000, not 0/],
    ['ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL', '1001', /ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL must be from 1 to 1000/],
    ['ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL', 'four', /ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL must be a whole number from 1 to 1000, not "four"/],
    ['LEDGER_CHECKPOINT_EVERY_EVENTS', '-5', /LEDGER_CHECKPOINT_EVERY_EVENTS must be a whole number/],
    ['LEDGER_CHECKPOINT_EVERY_SECONDS', '1h', /LEDGER_CHECKPOINT_EVERY_SECONDS must be a whole number/],
    ['LEDGER_CHECKPOINT_PUBLIC_KEY', 'not-a-key', /LEDGER_CHECKPOINT_PUBLIC_KEY must be an Ed25519 public key/],
    ['LEDGER_CHECKPOINT_SINK_FILE', 'checkpoints.jsonl', /LEDGER_CHECKPOINT_SINK_FILE must be an absolute path/],
  ])('refuses %s=%s with a message naming it', (variable, value, message) => {
    const attempt = () => loadConfig({ [variable]: value });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable);
    }
  });

  it('reads REBUILD_PROJECTIONS as projection names, and names the variable when they are wrong', () => {
    expect(loadConfig({ REBUILD_PROJECTIONS: 'billing, settlement,billing' }).rebuildProjections).toEqual(['billing', 'settlement']);
    expect(() => loadConfig({ REBUILD_PROJECTIONS: 'billing;drop table' })).toThrow(/^REBUILD_PROJECTIONS must be projection names separated by commas/);
    expect(() => checkProjectionNames(['billing', 'bilingg'], ['catalogue', 'billing'], 'REBUILD_PROJECTIONS')).toThrow(
      'REBUILD_PROJECTIONS names no projection "bilingg"; projections: catalogue, billing',
    );
  });
});
