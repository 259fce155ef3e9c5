import { DataDirInUse } from '@v2g/event-store';
import { ConfigError } from '../config.ts';
import { EXIT, EXIT_CODES_HELP, parseCommandArgs, READ_ONLY_WHILE_IN_USE, UsageError, type CliIo, type Command } from './command.ts';
import { checkpointCommand } from './commands/checkpoint.ts';
import { keygenCommand } from './commands/keygen.ts';
import { verifyCommand } from './commands/verify.ts';
import { projectionsCommand } from './commands/projections.ts';
import { replayCommand } from './commands/replay.ts';
import { auditCommand } from './commands/audit.ts';
import { apikeyCommand } from './commands/apikey.ts';

/** Every subcommand, in the order the help lists them. */
export const COMMANDS: readonly Command[] = [verifyCommand, checkpointCommand, keygenCommand, replayCommand, auditCommand, projectionsCommand, apikeyCommand];

export function usage(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: pnpm ledger <command> [options]   (or: node --import tsx packages/server/src/cli/main.ts …)

Operators' and auditors' tools for the V2G ledger.

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

pnpm ledger <command> --help describes a command and its options.

They open the store the server uses, configured by the same environment variables (pnpm start
--help): DATABASE_URL, DATA_DIR, EVENTSTORE_URL, DB_SCHEMA, and LEDGER_CHECKPOINT_KEY /
LEDGER_CHECKPOINT_PUBLIC_KEY for checkpoint signatures. Results go to stdout, progress and errors
to stderr (a progress bar on a terminal, a line every few seconds elsewhere). With pnpm, add -s
(pnpm -s ledger verify --json) to keep pnpm's own lines off stdout.

${EXIT_CODES_HELP}
`;
}

/** Runs `ledger <argv>`; resolves to the exit code. Never throws. */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage(commands));
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? topic.usage : usage(commands));
    return EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`ledger: unknown command ${JSON.stringify(name)}; commands: ${commands.map((c) => c.name).join(', ')} (pnpm ledger --help)\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(parseCommandArgs(command, rest), io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`ledger ${command.name}: ${error.message} (pnpm ledger ${command.name} --help)\n`);
      return EXIT.usage;
    }
    if (error instanceof DataDirInUse) {
      io.stderr.write(`ledger ${command.name}: ${error.message}.\n${command.whileInUse ?? READ_ONLY_WHILE_IN_USE}\n`);
      return EXIT.inUse;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`ledger ${command.name}: configuration error: ${error.message}\n`);
      return EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`ledger ${command.name}: failed: ${message}\n`);
    return EXIT.failed;
  }
}
