import { pino, type DestinationStream, type Logger } from 'pino';
import { createRequire } from 'node:module';
import type { LogFormat, LogLevel } from './config.ts';

/**
 * Fields that never reach a log line, at the top of an object logged or one level down (`err.body`,
 * `config.databaseUrl`): credentials and the places they travel in (headers, GraphQL variables, a
 * body parser's copy of the body, a SQL error's parameters).
 */
const SECRET_FIELDS = [
  'authorization',
  'cookie',
  'headers',
  'variables',
  'body',
  'params',
  'password',
  'secret',
  'token',
  'apiKey',
  'databaseUrl',
  'signingKey',
  'bootstrapOperatorKey',
  '["x-api-key"]',
];
export const REDACTED_PATHS = SECRET_FIELDS.flatMap((field) => (field.startsWith('[') ? [field, `*${field}`] : [field, `*.${field}`]));

/**
 * JSON lines on stdout (or on `destination`, which tests use to read what was logged); with
 * format `pretty`, pino-pretty's coloured lines for a person at a terminal (same fields, same redaction).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options = {
    level,
    base: { service: 'v2g-ledger' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // A second guard: nothing logs headers, variables or secrets on purpose.
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (format === 'pretty') return pino(options, prettyStream(destination));
  return destination ? pino(options, destination) : pino(options);
}

/** pino-pretty as a synchronous stream in this process (no worker thread), loaded only when asked for. */
function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  const { build: pretty } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pretty({
    colorize: destination === undefined && process.stdout.isTTY === true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    ...(destination ? { destination } : {}),
  });
}
