import type { Server } from 'node:http';
import type { Logger } from 'pino';

export type ShutdownOptions = {
  server: Server;
  /** Stops projections at a checkpoint and closes the store and the SQL client. */
  close: () => Promise<void>;
  logger: Logger;
  /** How long requests in flight (appends) may take to finish before their connections are cut. */
  drainTimeoutMs?: number;
};

/**
 * Stops accepting connections, lets requests in flight finish (bounded), then closes the ledger.
 * Idle keep-alive connections are closed as they become idle, so they do not hold the drain open.
 */
export async function shutDown({ server, close, logger, drainTimeoutMs = 10_000 }: ShutdownOptions): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => {
    logger.warn({ drainTimeoutMs }, 'requests still in flight at the drain deadline: closing their connections');
    server.closeAllConnections();
  }, drainTimeoutMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(deadline);
  }
  logger.info('http server closed; stopping projections and closing the ledger');
  await close();
}

/** SIGTERM/SIGINT: shut down gracefully and exit 0 (1 when that fails); a second signal exits 1 at once. */
export function exitOnSignals(options: ShutdownOptions): void {
  const { logger } = options;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, waiting for requests in flight');
    shutDown(options).then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
