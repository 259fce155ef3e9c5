import { EXIT, EXIT_CODES_HELP, parseCommandArgs, READ_ONLY_WHILE_IN_USE, UsageError, type CliIo, type Command } from './command.ts';

/**
 * Every subcommand, in the order the help lists them. A command's module (and what it imports: the
 * store, the projections) is loaded only when that command runs or its --help is asked for, so
 * `ledger --help` loads none of them.
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'verify', summary: 'check that no event was altered, deleted or inserted (exit 1 if one was)', load: async () => (await import('./commands/verify.ts')).verifyCommand },
  {
    name: 'checkpoint',
    summary: 'append a checkpoint (Merkle root of the log) to checkpoint-log now',
    load: async () => (await import('./commands/checkpoint.ts')).checkpointCommand,
  },
  { name: 'keygen', summary: 'print a new Ed25519 key pair for signing checkpoints', load: async () => (await import('./commands/keygen.ts')).keygenCommand },
  {
    name: 'replay',
    summary: 'build a projection as known at an instant or a log position, into a throw-away schema',
    load: async () => (await import('./commands/replay.ts')).replayCommand,
  },
  {
    name: 'audit',
    summary: 're-derive closed settlement periods from the raw events and compare (exit 1 if any differs)',
    load: async () => (await import('./commands/audit.ts')).auditCommand,
  },
  {
    name: 'projections',
    summary: 'read models: status (lag, rebuilds), or rebuild one blue/green while the server serves',
    load: async () => (await import('./commands/projections.ts')).projectionsCommand,
  },
  {
    name: 'apikey',
    summary: 'create, list or revoke API keys (the first operator key of a fresh install)',
    load: async () => (await import('./commands/apikey.ts')).apikeyCommand,
  },
];

/** A subcommand as the help lists it; its implementation loaded on demand. */
export type CommandEntry = { name: string; summary: string; load(): Promise<Command> };

function usage(commands: readonly CommandEntry[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `Usage: pnpm ledger <command> [options]   (or: node packages/server/bin/ledger.js …)

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
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly CommandEntry[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage(commands));
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(topic ? (await topic.load()).usage : usage(commands));
    return EXIT.ok;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`ledger: unknown command ${JSON.stringify(name)}; commands: ${commands.map((c) => c.name).join(', ')} (pnpm ledger --help)\n`);
    return EXIT.usage;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.usage);
    return EXIT.ok;
  }
  try {
    return await command.run(parseCommandArgs(command, rest), io);
  } catch (error) {
    // Loaded here, not at the top: the store's and the configuration's modules (the drivers, the
    // ledger) are what `ledger --help` must not load; a command that ran has loaded them already.
    const [{ DataDirInUse }, { ConfigError }] = await Promise.all([import('@v2g/event-store'), import('../config.ts')]);
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
