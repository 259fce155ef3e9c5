import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ProgressStream } from './progress.ts';

/**
 * What every `ledger` subcommand is: a name, its full --help text, its options (node:util
 * parseArgs: strict, so a misspelt option is a usage error) and run(). A new command plugs in the
 * same way: write one, and list it (with its line for the command list) in COMMANDS in run.ts.
 */

/** Exit codes of every subcommand, as `pnpm start` has them. */
export const EXIT = {
  /** Done; for verify: nothing was altered. */
  ok: 0,
  /** Failed: verification found a problem, or the store could not be used. */
  failed: 1,
  /** Bad usage or configuration: nothing was done. */
  usage: 2,
  /** The embedded store (PGlite in DATA_DIR) is open in another process: nothing was done. */
  inUse: 3,
} as const;

export const EXIT_CODES_HELP = `Exit codes: 0 ok, 1 failed (for verify: something was altered), 2 bad usage or configuration,
3 the embedded store (PGlite in DATA_DIR) is in use by another process, the server say: nothing was done.`;

/** What the commands that only read say when the embedded store is in use. */
export const READ_ONLY_WHILE_IN_USE =
  'This command only reads: stop that process first, or run the ledger on a PostgreSQL server (DATABASE_URL=postgres://…), ' + 'where commands run beside the live server.';

export type CliIo = {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(chunk: string): unknown };
  /** Errors and progress; a terminal gets a progress bar. */
  stderr: ProgressStream;
};

type Options = NonNullable<ParseArgsConfig['options']>;
export type ParsedArgs = { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };

export type Command = {
  name: string;
  usage: string;
  options: Options;
  /** What to do instead when the embedded store is in use by another process (the server); default READ_ONLY_WHILE_IN_USE. */
  whileInUse?: string;
  /** How many positional arguments it takes (default none). */
  positionals?: { min: number; max: number };
  run(args: ParsedArgs, io: CliIo): Promise<number>;
};

/** Wrong arguments: exit code 2, with the message and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args: [...argv], options: command.options, allowPositionals: true, strict: true }) as ParsedArgs;
  } catch (error) {
    // parseArgs's own messages are good ("Unknown option '--jsn'"); drop its hint about '--'.
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '') : String(error);
    throw new UsageError(message);
  }
  const { min, max } = command.positionals ?? { min: 0, max: 0 };
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw new UsageError(
      max === 0
        ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}`
        : `expected ${min === max ? min : `${min} to ${max}`} argument(s), got ${parsed.positionals.length}`,
    );
  }
  return parsed;
}

/** A whole number from an option, or a UsageError naming it. */
export function integerOption(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}
