import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { buildApp } from './app.ts';
import { checkProjectionNames, ConfigError, loadConfig, projectionNames, USAGE, type Config } from './config.ts';
import { openLedger, PROJECTIONS, type Ledger } from './ledger-app.ts';
import { createLogger } from './logger.ts';
import { exitOnSignals } from './shutdown.ts';

/** `pnpm start`: configuration from the environment, the ledger, projections, HTTP on PORT. */
async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const config = configOrExit();
  const logger = createLogger(config.logLevel);
  let ledger: Ledger | undefined;
  try {
    ledger = await openLedger({ ...config, bootstrapOperatorKey: config.auth.bootstrapOperatorKey }, logger);
    await ledger.start();
    await warnWhenNobodyCanSignIn(ledger, config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'cannot open the ledger');
    await ledger?.close().catch(() => {});
    process.exit(1);
  }
  const open = ledger;
  const app = buildApp({ ledger: open, logger, graphiql: config.graphiql, readyMaxLag: config.readyMaxLag, jwt: config.auth.jwt, hardening: config.hardening });
  const server = app.listen(config.port);
  server.once('error', (error) => {
    logger.fatal({ err: error, port: config.port }, 'cannot listen');
    void open.close().finally(() => process.exit(1));
  });
  server.once('listening', () => {
    const { port } = server.address() as AddressInfo;
    const url = `http://localhost:${port}`;
    logger.info({ url, nodeEnv: config.nodeEnv }, `listening on ${url}`);
    if (config.graphiql) logger.info(`GraphiQL at ${url}/graphql`);
  });
  exitOnSignals({ server, close: () => open.close(), logger });
}

/** Every GraphQL request needs a key or a token: on a fresh install, say how to get the first one. */
async function warnWhenNobodyCanSignIn(ledger: Ledger, config: Config, logger: Logger): Promise<void> {
  if (config.auth.jwt) return;
  const keys = await ledger.apiKeys.list();
  if (keys.some((k) => k.status === 'active' && k.role === 'operator')) return;
  logger.warn(
    'no active operator API key yet: create one with `pnpm ledger apikey create --role operator --name <you>` (server stopped, on PGlite) or set AUTH_BOOTSTRAP_OPERATOR_KEY',
  );
}

/** A bad variable stops the process before anything opens: exit code 2, the message names it. */
function configOrExit(): Config {
  try {
    const config = loadConfig();
    const known = PROJECTIONS.map((p) => p.name);
    checkProjectionNames(config.rebuildProjections, known, 'REBUILD_PROJECTIONS');
    // `--rebuild a,b` (or --rebuild=a,b, repeatable) adds to REBUILD_PROJECTIONS.
    const fromArgs = rebuildArgs(process.argv.slice(2));
    checkProjectionNames(fromArgs, known, '--rebuild');
    return { ...config, rebuildProjections: [...new Set([...config.rebuildProjections, ...fromArgs])] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info', pino.destination(2)).fatal({ variable: error.variable }, `configuration error: ${error.message}`);
    process.exit(2);
  }
}

function rebuildArgs(argv: readonly string[]): string[] {
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--rebuild') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) throw new ConfigError('--rebuild', 'needs projection names, e.g. --rebuild billing,settlement');
      names.push(...projectionNames(value, '--rebuild'));
    } else if (arg.startsWith('--rebuild=')) {
      names.push(...projectionNames(arg.slice('--rebuild='.length), '--rebuild'));
    }
  }
  return names;
}

await main();
