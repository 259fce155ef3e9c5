import { CHECKPOINT_STREAM, Checkpointer, FileCheckpointSink, keyIdOf } from '@v2g/ledger';
import { createPublicKey } from 'node:crypto';
import { loadConfig } from '../../config.ts';
import { EXIT, type Command } from '../command.ts';
import { openConfiguredStore } from '../open-store.ts';
import { ProgressBar } from '../progress.ts';

export const checkpointCommand: Command = {
  name: 'checkpoint',
  usage: `Usage: pnpm ledger checkpoint [--json] [--quiet]

Appends a LogCheckpointed event to stream ${CHECKPOINT_STREAM}: the number of events and streams
and the Merkle root (RFC 6962, SHA-256) of every event's hash up to the log's head, chained to the
checkpoint before it, and signed when LEDGER_CHECKPOINT_KEY is set. It reads only the events after
the latest checkpoint. Nothing is appended when no event came after it. The server appends
checkpoints by itself too (LEDGER_CHECKPOINT_EVERY_EVENTS, LEDGER_CHECKPOINT_EVERY_SECONDS, down
to one second).

With LEDGER_CHECKPOINT_SINK_FILE each checkpoint is also appended, as a JSON line, to that file
outside the database, and a checkpoint is only appended while the store still holds the last one
the file holds (a removed or shortened checkpoint history is refused, exit 1). With
LEDGER_CHECKPOINT_KEY a checkpoint only extends the last signed one.

Publish the printed root somewhere the database's administrators cannot write (a ticket, a mail,
a transparency log): pnpm ledger verify --anchor POSITION:ROOT then proves the log up to POSITION
is unchanged even if the checkpoints themselves were removed.

Options:
  --json        the checkpoint as JSON on stdout
  --quiet       no progress on stderr
  -h, --help    this text

The store comes from the server's variables (pnpm start --help): DATABASE_URL, DATA_DIR,
EVENTSTORE_URL, DB_SCHEMA; LEDGER_CHECKPOINT_KEY signs; LEDGER_CHECKPOINT_SINK_FILE publishes. With the embedded store (no DATABASE_URL)
stop the server first.

Exit codes: 0 appended, or nothing to append; 1 failed (also: the checkpoint history was removed,
shortened or is not signed by the key); 2 bad usage or configuration; 3 the
embedded store is in use by another process (the server): nothing appended.
`,
  whileInUse: 'It appends to the log: stop the server first (a server with LEDGER_CHECKPOINT_KEY appends checkpoints itself).',
  options: {
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  async run({ values }, io) {
    const config = loadConfig(io.env);
    const opened = await openConfiguredStore(config, 'ledger checkpoint');
    const bar = new ProgressBar({ label: 'checkpoint', unit: 'positions', stream: io.stderr, enabled: values.quiet !== true });
    let outcome;
    try {
      const checkpointer = new Checkpointer({
        store: opened.store,
        signingKey: config.checkpoint.signingKey,
        sink: config.checkpoint.sinkFile ? new FileCheckpointSink(config.checkpoint.sinkFile) : null,
        onProgress: ({ done, total }) => bar.update(Number(done), Number(total)),
      });
      outcome = await checkpointer.checkpointNow();
    } finally {
      bar.finish();
      await opened.close();
    }
    const recorded = outcome.appended ? outcome : outcome.latest;
    if (values.json === true) {
      io.stdout.write(
        `${JSON.stringify(
          {
            appended: outcome.appended,
            ...(outcome.appended ? { duplicate: outcome.duplicate } : { reason: outcome.reason }),
            checkpoint: recorded ? { version: recorded.version, position: recorded.position.toString(), ...recorded.checkpoint } : null,
          },
          null,
          2,
        )}\n`,
      );
      return EXIT.ok;
    }
    if (!recorded) {
      io.stdout.write(`ledger checkpoint: the log is empty, nothing to checkpoint (${opened.where})\n`);
      return EXIT.ok;
    }
    const { checkpoint } = recorded;
    const headline = outcome.appended
      ? `ledger checkpoint: appended ${CHECKPOINT_STREAM} version ${recorded.version} at position ${recorded.position}${outcome.duplicate ? ' (another checkpointer had already recorded it)' : ''}`
      : `ledger checkpoint: up to date, no event after ${CHECKPOINT_STREAM} version ${recorded.version} (position ${recorded.position})`;
    const signer = checkpoint.signature
      ? `signed with key ${checkpoint.signature.keyId}`
      : config.checkpoint.signingKey
        ? `unsigned (LEDGER_CHECKPOINT_KEY ${keyIdOf(createPublicKey(config.checkpoint.signingKey))} was not set when it was written)`
        : 'unsigned (set LEDGER_CHECKPOINT_KEY to sign)';
    io.stdout.write(
      [
        `${headline} (${opened.where})`,
        `  through:     position ${checkpoint.through}`,
        `  events:      ${checkpoint.count} in ${checkpoint.streams} streams`,
        `  merkle root: ${checkpoint.merkleRoot}`,
        `  signature:   ${signer}`,
        `  anchor:      --anchor ${checkpoint.through}:${checkpoint.merkleRoot}`,
        '',
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
