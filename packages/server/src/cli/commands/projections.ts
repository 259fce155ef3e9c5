import { hostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { pino } from 'pino';
import { createProjectionBookkeeping, ProjectionRebuilder, readProjectionStatus, RebuildInProgress, type Projection, type RebuildProgress } from '@v2g/ledger';
import { loadConfig } from '../../config.ts';
import { PROJECTIONS } from '@v2g/ledger';
import { projectionReports, type ProjectionReport } from '../../projection-report.ts';
import { EXIT, integerOption, UsageError, type CliIo, type Command, type ParsedArgs } from '../command.ts';
import { duration, ProgressBar } from '../progress.ts';
import { openConfiguredLedgerDb } from '../open-store.ts';

const NAMES = PROJECTIONS.map((p) => p.name);

export const projectionsCommand: Command = {
  name: 'projections',
  usage: `Usage: pnpm ledger projections status [--json]
       pnpm ledger projections rebuild <name> [--yes] [--batch-size N] [--quiet]

status    every projection: its code version, state, checkpoint, lag behind the head of the log
          (events and seconds since the oldest event not applied was recorded), and its rebuild in
          progress or the last one. State, from the database alone: live (at the head), catching_up,
          failed (at a recorded event), needs_rebuild (the database holds another version's
          tables), stopped (never ran here).

rebuild   builds the projection (${NAMES.join(', ')}) into new tables (<name>_v<version>_next_<table>)
          while the live ones keep serving and a running server keeps applying new events to them;
          once caught up, switches in one transaction (the live tables renamed away, the new ones
          renamed to the live names) and drops the old tables. Progress on stderr. A rebuild
          interrupted (Ctrl-C, a crash) resumes from its own checkpoint when asked again, here or
          by the server. This is also how a projection whose code version changed (needs_rebuild)
          is built.

Options:
  --yes            do not ask for confirmation (required when stdin is not a terminal)
  --batch-size N   events per transaction (default 2000)
  --json           (status) the status as JSON on stdout
  --quiet          no progress on stderr
  -h, --help       this text

The store comes from the server's variables (pnpm start --help): DATABASE_URL, DATA_DIR,
EVENTSTORE_URL, DB_SCHEMA. On a PostgreSQL server the server may keep running: it goes on serving
and applying, and serialises with the switch. The embedded store (PGlite, no DATABASE_URL) serves
one process only: stop the server first, or rebuild through the running server with the GraphQL
mutation rebuildProjection(name).

Exit codes: 0 switched (status: shown); 1 the rebuild failed or was interrupted (an event the
projection cannot apply, the switch could not take its locks, another process runs it, the store
could not be used): run it again to resume; 2 bad usage, an unknown projection, or configuration;
3 the embedded store is in use by another process (the server): nothing done.
`,
  options: {
    yes: { type: 'boolean' },
    'batch-size': { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  whileInUse:
    'Stop the server first, or ask the running server (an operator key): query { projections { name state checkpoint lag } }, ' +
    'mutation { rebuildProjection(name: "…") { … } }.',
  positionals: { min: 1, max: 2 },
  async run(args, io) {
    const [action, name] = args.positionals;
    switch (action) {
      case 'status':
        if (name !== undefined) throw new UsageError(`status takes no projection name (got ${JSON.stringify(name)})`);
        return status(args, io);
      case 'rebuild':
        return rebuild(args, io, name);
      default:
        throw new UsageError(`unknown action ${JSON.stringify(action)}: status or rebuild`);
    }
  },
};

async function status({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const config = loadConfig(io.env);
  const db = await openConfiguredLedgerDb(config, 'ledger projections status');
  let reports: ProjectionReport[];
  let head: bigint;
  try {
    await db.sql.transaction((tx) => createProjectionBookkeeping(tx, db.schema));
    const report = await projectionReports({
      store: db.store,
      projections: { status: async () => readProjectionStatus(db.sql, db.schema, PROJECTIONS, await db.store.headPosition()) },
    });
    reports = report.projections;
    head = report.headPosition;
  } finally {
    await db.close();
  }
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ store: db.where, headPosition: head.toString(), projections: reports }, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
    return EXIT.ok;
  }
  const n = (value: bigint | number) => value.toLocaleString('en-US');
  const rows = [
    ['projection', 'version', 'state', 'checkpoint', 'lag', 'lag s', 'rebuild'],
    ...reports.map((p) => [
      p.name,
      String(p.version) + (p.tablesVersion != null ? ` (db: v${p.tablesVersion})` : ''),
      p.state + (p.failure ? ` at ${p.failure.position}` : ''),
      n(p.checkpoint),
      n(p.lag),
      p.lagSeconds.toFixed(1),
      p.rebuild ? describeRebuild(p.rebuild) : '-',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  io.stdout.write(`${db.where}; head of the log: ${n(head)}\n`);
  for (const row of rows)
    io.stdout.write(
      `${row
        .map((cell, c) => (c === 3 || c === 4 || c === 5 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd()}\n`,
    );
  return EXIT.ok;
}

function describeRebuild(r: RebuildProgress): string {
  const n = (value: bigint | number) => value.toLocaleString('en-US');
  const pct = r.total > 0n ? ` (${Math.floor((Number(r.done) / Number(r.total)) * 100)}%)` : '';
  const parts = [`${r.state} ${n(r.done)}/${n(r.total)}${pct}`];
  if (r.state === 'building' || r.state === 'switching') parts.push(`${n(Math.round(r.eventsPerSecond))} events/s`, `ETA ${r.etaSeconds === null ? '?' : duration(r.etaSeconds)}`);
  if (r.state === 'switched' && r.finishedAt) parts.push(`at ${r.finishedAt}`);
  if (r.failure) parts.push(`failed at ${r.failure.position}: ${r.failure.message}`);
  if (r.error) parts.push(r.error);
  return parts.join(', ');
}

async function rebuild({ values }: ParsedArgs, io: CliIo, name: string | undefined): Promise<number> {
  if (name === undefined) throw new UsageError(`rebuild needs a projection name: ${NAMES.join(', ')}`);
  const projection: Projection | undefined = PROJECTIONS.find((p) => p.name === name);
  if (!projection) throw new UsageError(`no projection ${JSON.stringify(name)}; projections: ${NAMES.join(', ')}`);
  const batchSize = integerOption(values['batch-size'], 'batch-size', 1, 100_000);
  const config = loadConfig(io.env);
  // Opened before asking: while the server has the embedded store, the refusal comes at once.
  const db = await openConfiguredLedgerDb(config, `ledger projections rebuild ${projection.name}`);
  if (values.yes !== true && !(await confirm(`Rebuild ${projection.name} v${projection.version} blue/green: new tables, switch, then drop the old ones? [y/N] `, io))) {
    await db.close();
    if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for confirmation: add --yes');
    io.stderr.write('ledger projections rebuild: not confirmed; nothing done\n');
    return EXIT.usage;
  }
  const enabled = values.quiet !== true;
  const bar = new ProgressBar({ label: `rebuild ${projection.name}`, unit: 'events', stream: io.stderr, enabled });
  const controller = new AbortController();
  const onSignal = () => {
    io.stderr.write('\nledger projections rebuild: stopping after the batch in hand; run it again to resume\n');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let result: RebuildProgress;
  try {
    const rebuilder = new ProjectionRebuilder({
      store: db.store,
      sql: db.sql,
      schema: db.schema,
      logger: pino({ level: 'silent' }), // it reports through its progress; its log lines are the server's
      batchSize,
      owner: `cli:${hostname()}:${process.pid}`,
    });
    await rebuilder.prepare();
    try {
      const claim = await rebuilder.claim(projection, `cli:${io.env.USER ?? 'operator'}@${hostname()}`);
      if (claim.resumedFrom !== null) io.stderr.write(`ledger projections rebuild: resuming rebuild ${claim.id} from position ${claim.resumedFrom}\n`);
      result = await rebuilder.run(claim, {
        signal: controller.signal,
        onProgress: (progress) => bar.update(Number(progress.done), Number(progress.total)),
      });
    } catch (error) {
      if (error instanceof RebuildInProgress) {
        io.stderr.write(`ledger projections rebuild: ${error.message}\n`);
        return EXIT.failed;
      }
      throw error;
    }
  } finally {
    bar.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.close();
  }
  const n = (value: bigint | number) => value.toLocaleString('en-US');
  const took = (Date.parse(result.updatedAt) - Date.parse(result.startedAt)) / 1000;
  switch (result.state) {
    case 'switched':
      io.stdout.write(
        `ledger projections rebuild: ${projection.name} v${projection.version} switched at position ${result.position} ` +
          `(${n(result.done)} events${result.resumedFrom !== null ? `, resumed from ${result.resumedFrom}` : ''}, ` +
          `${n(Math.round(result.eventsPerSecond))} events/s${Number.isFinite(took) ? `, ${duration(took)} since it started` : ''}); rebuild ${result.id}\n`,
      );
      return EXIT.ok;
    case 'failed':
      io.stderr.write(
        `ledger projections rebuild: ${projection.name} failed at position ${result.failure?.position} ` +
          `(${result.failure?.streamId} v${result.failure?.streamVersion}, ${result.failure?.eventType}): ${result.failure?.message}\n` +
          `  the live tables are untouched; fix the code and run it again to resume from there\n`,
      );
      return EXIT.failed;
    default:
      io.stderr.write(
        `ledger projections rebuild: ${projection.name} ${result.state} at position ${result.position} of ${result.total}` +
          `${result.error ? `: ${result.error}` : ''}; run it again to resume from there\n`,
      );
      return EXIT.failed;
  }
}

async function confirm(question: string, io: CliIo): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: io.stderr as NodeJS.WritableStream });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
