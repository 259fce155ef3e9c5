import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataDirInUse } from '@v2g/event-store';
import { pino, type Logger } from 'pino';
import { buildApp } from './app.ts';
import { checkProjectionNames, ConfigError, loadConfig, projectionNames, type Config } from './config.ts';
import { PROJECTIONS } from '@v2g/ledger';
import { openLedger, type Ledger } from './ledger-app.ts';
import { createLogger } from './logger.ts';
import { exitOnSignals } from './shutdown.ts';

/** Exit codes of `pnpm start` (its --help lists them). */
const EXIT = { failed: 1, configuration: 2, inUse: 3 } as const;

/**
 * The server: configuration from the environment, the port, the ledger, projections, HTTP. The port
 * is bound before the store is opened, so that a second server on a taken port stops at once,
 * before it touches the data; until the ledger is open every request gets 503.
 */
export async function serve(argv: readonly string[]): Promise<void> {
  const config = configOrExit(argv);
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const server = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"status":"starting"}');
  });
  await listenOrExit(server, config.port, logger);
  let ledger: Ledger | undefined;
  try {
    ledger = await openLedger({ ...config, bootstrapOperatorKey: config.auth.bootstrapOperatorKey }, logger);
    await ledger.start();
    await warnWhenNobodyCanSignIn(ledger, config, logger);
  } catch (error) {
    await ledger?.close().catch(() => {});
    if (error instanceof DataDirInUse) {
      logger.fatal(
        { dataDir: error.dataDir, holderPid: error.holder?.pid },
        `cannot open the ledger: ${error.message}. Stop that process first, or serve several processes from a PostgreSQL server (DATABASE_URL)`,
      );
      process.exit(EXIT.inUse);
    }
    logger.fatal({ err: error }, 'cannot open the ledger');
    process.exit(EXIT.failed);
  }
  const open = ledger;
  const app = buildApp({ ledger: open, logger, graphiql: config.graphiql, readyMaxLag: config.readyMaxLag, jwt: config.auth.jwt, hardening: config.hardening });
  server.removeAllListeners('request');
  server.on('request', app);
  const { port } = server.address() as AddressInfo;
  const url = `http://localhost:${port}`;
  logger.info({ url, nodeEnv: config.nodeEnv }, `listening on ${url}`);
  if (config.graphiql) logger.info(`GraphiQL at ${url}/graphql`);
  exitOnSignals({ server, close: () => open.close(), logger });
}

/** Binds PORT, or exits: 3 when another process has it, 1 for any other reason. */
async function listenOrExit(server: Server, port: number, logger: Logger): Promise<void> {
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    server.once('error', resolve);
    server.listen(port, () => {
      server.removeListener('error', resolve);
      resolve(null);
    });
  });
  if (error === null) return;
  if (error.code === 'EADDRINUSE') {
    logger.fatal({ port, code: error.code }, `cannot listen: port ${port} is in use by another process (another ledger server?); nothing was opened`);
    process.exit(EXIT.inUse);
  }
  logger.fatal({ port, code: error.code }, `cannot listen on port ${port}: ${error.message}`);
  process.exit(EXIT.failed);
}

/** Every GraphQL request needs a key or a token: on a fresh install, say how to get the first one. */
async function warnWhenNobodyCanSignIn(ledger: Ledger, config: Config, logger: Logger): Promise<void> {
  if (config.auth.jwt) return;
  const keys = await ledger.access.apiKeys.list();
  if (keys.some((k) => k.status === 'active' && k.role === 'operator')) return;
  logger.warn(
    'no active operator API key yet: create one with `pnpm ledger apikey create --role operator --name <you>` (server stopped, on PGlite) or set AUTH_BOOTSTRAP_OPERATOR_KEY',
  );
}

/** A bad variable stops the process before anything opens: exit code 2, the message names it. */
function configOrExit(argv: readonly string[]): Config {
  try {
    const config = loadConfig();
    const known = PROJECTIONS.map((p) => p.name);
    checkProjectionNames(config.rebuildProjections, known, 'REBUILD_PROJECTIONS');
    // `--rebuild a,b` (or --rebuild=a,b, repeatable) adds to REBUILD_PROJECTIONS.
    const fromArgs = rebuildArgs(argv);
    checkProjectionNames(fromArgs, known, '--rebuild');
    return { ...config, rebuildProjections: [...new Set([...config.rebuildProjections, ...fromArgs])] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info', pino.destination(2)).fatal({ variable: error.variable }, `configuration error: ${error.message}`);
    process.exit(EXIT.configuration);
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
