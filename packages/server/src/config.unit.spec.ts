import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has safe defaults: embedded PGlite in ./data, port 4000, GraphiQL outside production', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: null,
      dataDir: resolve('./data'),
      eventStoreUrl: null,
      port: 4000,
      logLevel: 'info',
      nodeEnv: 'development',
      graphiql: true,
      dbSchema: 'v2g',
      readyMaxLag: 1000n,
    });
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
});
