import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.ts';

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

/** JSON lines on stdout (or on `destination`, which tests use to read what was logged). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'v2g-ledger' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // A second guard: nothing logs headers, variables or secrets on purpose.
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
