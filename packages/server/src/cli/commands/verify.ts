import type { KeyObject } from 'node:crypto';
import { CheckpointSinkUnreadable, FileCheckpointSink, keyIdOf, parsePublicKey, verifyLog, type Anchor, type PublishedCheckpoint, type VerifyReport } from '@v2g/ledger';
import { loadConfig } from '../../config.ts';
import { EXIT, integerOption, UsageError, type Command } from '../command.ts';
import { openConfiguredStore } from '../open-store.ts';
import { ProgressBar } from '../progress.ts';

export const verifyCommand: Command = {
  name: 'verify',
  usage: `Usage: pnpm ledger verify [--json] [--public-key KEY] [--require-signed] [--anchor POSITION:ROOT]... [--quiet]

Reads the whole event log, in bounded memory, and checks:
  - every stream's hash chain: each event's hash against its content and its predecessor's hash;
    a broken link is reported with its stream, version, position, expected and found hash
  - versions without gaps (a deleted event), and that each stream reaches the head the store
    recorded for it (a truncated stream)
  - every checkpoint in stream checkpoint-log (pnpm ledger checkpoint, or the server's own):
    the count, streams and Merkle root of the log up to its position, so that deleting or
    rewriting whole streams, hash chains and all, is caught; its link to the checkpoint before it;
    its Ed25519 signature when it has one
It reads up to the log's head when it starts; what is appended meanwhile is for the next run.

Options:
  --json                  the report as JSON on stdout (progress still goes to stderr)
  --public-key KEY        the trusted Ed25519 public key, PEM or 64 hex digits
                          (default: LEDGER_CHECKPOINT_PUBLIC_KEY, else LEDGER_CHECKPOINT_KEY's own)
  --require-signed        an unsigned checkpoint is a failure, not a warning, and so is a log
                          without any checkpoint (a removed checkpoint history)
  --sink FILE             the checkpoint sink (default: LEDGER_CHECKPOINT_SINK_FILE): every
                          checkpoint it holds must still be in the store, the same, and the log
                          must still give its root; a store holding fewer (a shortened or
                          removed checkpoint history) is a failure
  --anchor POSITION:ROOT  a Merkle root published elsewhere (e.g. from pnpm ledger checkpoint) for
                          the log up to POSITION; it must still hold. Repeatable.
  --max-problems N        problems listed (default 100; all are counted)
  --quiet                 no progress on stderr
  -h, --help              this text

The store comes from the server's variables (pnpm start --help): DATABASE_URL, DATA_DIR,
EVENTSTORE_URL, DB_SCHEMA. With the embedded store (no DATABASE_URL) stop the server first.

Exit codes: 0 nothing was altered; 1 something was altered (every problem is listed) or the store
could not be read; 2 bad usage or configuration.
`,
  options: {
    json: { type: 'boolean' },
    'public-key': { type: 'string' },
    'require-signed': { type: 'boolean' },
    sink: { type: 'string' },
    anchor: { type: 'string', multiple: true },
    'max-problems': { type: 'string' },
    quiet: { type: 'boolean' },
  },
  async run({ values }, io) {
    const anchors = ((values.anchor ?? []) as string[]).map(parseAnchor);
    const maxProblems = integerOption(values['max-problems'], 'max-problems', 1, 1_000_000) ?? 100;
    let publicKey: KeyObject | null = null;
    if (typeof values['public-key'] === 'string') {
      try {
        publicKey = parsePublicKey(values['public-key']);
      } catch (error) {
        throw new UsageError(`--public-key ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const config = loadConfig(io.env);
    publicKey ??= config.checkpoint.publicKey;
    const requireSigned = values['require-signed'] === true;
    if (requireSigned && !publicKey) throw new UsageError('--require-signed needs a public key (--public-key or LEDGER_CHECKPOINT_PUBLIC_KEY)');

    const sinkFile = typeof values.sink === 'string' ? values.sink : config.checkpoint.sinkFile;
    let published: PublishedCheckpoint[] | undefined;
    if (sinkFile) {
      try {
        published = await new FileCheckpointSink(sinkFile).read();
      } catch (error) {
        // An edited line is a finding (exit 1); a file that cannot be opened is configuration (exit 2).
        if (error instanceof CheckpointSinkUnreadable) throw error;
        throw new UsageError(`--sink ${sinkFile}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const opened = await openConfiguredStore(config, 'ledger verify');
    const enabled = values.quiet !== true;
    const bars = {
      log: new ProgressBar({ label: 'verify log', unit: 'positions', stream: io.stderr, enabled }),
      streams: new ProgressBar({ label: 'verify streams', unit: 'events', stream: io.stderr, enabled }),
    };
    let report: VerifyReport;
    try {
      report = await verifyLog(opened.store, {
        publicKey,
        requireSigned,
        anchors,
        ...(published ? { published, publishedFrom: `the sink ${sinkFile}` } : {}),
        maxProblems,
        onProgress: (progress) => {
          if (progress.phase === 'streams') bars.log.finish();
          bars[progress.phase].update(progress.done, progress.total);
        },
      });
    } finally {
      bars.log.finish();
      bars.streams.finish();
      await opened.close();
    }
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ ...report, store: opened.where, publicKeyId: publicKey ? keyIdOf(publicKey) : null }, null, 2)}\n`);
    } else {
      io.stdout.write(formatReport(report, opened.where, publicKey));
    }
    return report.ok ? EXIT.ok : EXIT.failed;
  },
};

function parseAnchor(text: string): Anchor {
  const match = /^([0-9]{1,20}):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) throw new UsageError(`--anchor ${JSON.stringify(text)}: expected POSITION:ROOT, a position and a 64-hex-digit Merkle root`);
  return { through: BigInt(match[1]!), merkleRoot: match[2]! };
}

/** The human summary: verdict, problems (first broken link first), then what was checked. */
export function formatReport(report: VerifyReport, where: string, publicKey: KeyObject | null): string {
  const lines: string[] = [];
  const n = (value: number | string) => Number(value).toLocaleString('en-US');
  if (report.ok) {
    lines.push(`ledger verify: OK, nothing altered (${where})`);
  } else {
    lines.push(`ledger verify: FAILED, ${n(report.problemCount)} problem${report.problemCount === 1 ? '' : 's'} (${where})`);
    report.problems.forEach((problem, i) => lines.push(`  ${i + 1}. ${problem.message}`));
    const unlisted = report.problemCount - report.problems.length;
    if (unlisted > 0) lines.push(`  … and ${n(unlisted)} more (--max-problems N lists more, --json gives the facts)`);
  }
  lines.push(`  log:         ${n(report.events)} events up to position ${report.head}; Merkle root ${report.merkleRoot}`);
  lines.push(`  streams:     ${n(report.streams)} streams, ${n(report.streamEvents)} events, hash chains and heads checked`);
  const { checkpoints } = report;
  const latest = checkpoints.latest ? `; latest: version ${checkpoints.latest.version}, through position ${checkpoints.latest.through}` : '';
  const signatures = publicKey
    ? `${n(checkpoints.signaturesValid)} of ${n(checkpoints.signed)} signed valid with key ${keyIdOf(publicKey)}`
    : checkpoints.signed > 0
      ? `${n(checkpoints.signed)} signed (not checked: no public key)`
      : 'none signed';
  lines.push(`  checkpoints: ${n(checkpoints.checked)} checked, ${signatures}${latest}`);
  if (report.anchors > 0) lines.push(`  anchors:     ${n(report.anchors)} checked`);
  if (report.published > 0) lines.push(`  sink:        ${n(report.published)} published checkpoint(s) checked against the store and the log`);
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
