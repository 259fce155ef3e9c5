import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, USAGE, type Config } from './config.ts';
import { openLedger, type Ledger } from './ledger-app.ts';
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
    ledger = await openLedger(config, logger);
    await ledger.start();
  } catch (error) {
    logger.fatal({ err: error }, 'cannot open the ledger');
    await ledger?.close().catch(() => {});
    process.exit(1);
  }
  const open = ledger;
  const app = buildApp({ ledger: open, logger, graphiql: config.graphiql, readyMaxLag: config.readyMaxLag });
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

/** A bad variable stops the process before anything opens: exit code 2, the message names it. */
function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger('info', pino.destination(2)).fatal({ variable: error.variable }, `configuration error: ${error.message}`);
    process.exit(2);
  }
}

await main();
