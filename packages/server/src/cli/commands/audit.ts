import { formatInstant, parseInstant, QUARTER_HOUR_MS } from '@v2g/domain';
import type { EventStore, SqlClient } from '@v2g/event-store';
import {
  auditSettlement,
  CommandHandler,
  listSettlementRevisions,
  quoteIdent,
  replayProjection,
  SettlementService,
  tableNames,
  type Replay,
  type RevisionAudit,
  type SettlementAuditReport,
  type StatementDifference,
  type TableNames,
} from '@v2g/ledger';
import { billingProjection, sessionsReaching } from '@v2g/projection-billing';
import { loadConfig } from '../../config.ts';
import { EXIT, integerOption, UsageError, type Command } from '../command.ts';
import { openConfiguredLedgerDb } from '../open-store.ts';
import { ProgressBar, type ProgressStream } from '../progress.ts';

export const auditCommand: Command = {
  name: 'audit',
  positionals: { min: 1, max: 1 },
  usage: `Usage: pnpm ledger audit settlement --zone ZONE --period START [--revision N] [--json] [--from-log] [--quiet]
       pnpm ledger audit settlement --all [--zone ZONE] [--json] [--from-log] [--quiet]

Re-derives recorded SettlementPeriodClosed statements from the events they were derived from
(the market zone, the imbalance prices, the order books and the sessions' readings, read up to the
statement's inputsThrough and as known at its knownAt, after the revision before it), and compares
each with what was recorded: the inputs hash and count, every line, every transfer. Differences
are listed one by one, by path (lines[1].imbalanceAmountMinor), with the recorded and the
re-derived value.

Options:
  --zone ZONE        the market zone
  --period START     the period's start, a UTC instant on a quarter hour (2026-11-05T10:00Z)
  --revision N       only this revision (default: every revision of the period)
  --all              every closed period (of --zone when given), every revision, with a progress bar
  --from-log         list each period's candidate sessions from a replay of the billing projection
                     (into a throw-away schema) rather than the live billing read model; done anyway
                     when the live model has not reached the statements' inputs
  --json             the report as JSON on stdout
  --quiet            no progress on stderr
  -h, --help         this text

The store comes from the server's variables (pnpm start --help): DATABASE_URL, DATA_DIR,
EVENTSTORE_URL, DB_SCHEMA. With the embedded store (no DATABASE_URL) stop the server first.

Exit codes: 0 every statement re-derived identical; 1 a statement differs from its re-derivation
(or could not be re-derived, or the store could not be read); 2 bad usage or configuration (also:
no such closed period or revision).
`,
  options: {
    zone: { type: 'string' },
    period: { type: 'string' },
    revision: { type: 'string' },
    all: { type: 'boolean' },
    'from-log': { type: 'boolean' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals[0] !== 'settlement') throw new UsageError(`audit what? ${JSON.stringify(positionals[0])}: the only audit is "settlement"`);
    const all = values.all === true;
    const zone = typeof values.zone === 'string' ? values.zone : undefined;
    const period = typeof values.period === 'string' ? periodOption(values.period) : undefined;
    const revision = integerOption(values.revision, 'revision', 1, 1_000_000);
    if (all && (period !== undefined || revision !== undefined)) throw new UsageError('--all audits every period: no --period or --revision with it');
    if (!all && (zone === undefined || period === undefined)) throw new UsageError('--zone and --period name the period to audit (or --all for every one)');

    const config = loadConfig(io.env);
    const opened = await openConfiguredLedgerDb(config, 'ledger audit');
    const enabled = values.quiet !== true;
    try {
      const revisions = await listSettlementRevisions(opened.store, {
        ...(zone === undefined ? {} : { zone }),
        ...(period === undefined ? {} : { periodStart: period }),
        ...(revision === undefined ? {} : { revision }),
      });
      if (revisions.length === 0) {
        if (all) {
          io.stdout.write(
            values.json === true
              ? `${JSON.stringify({ ...emptyReport(), store: opened.where }, null, 2)}\n`
              : `ledger audit settlement: nothing to audit, no period closed${zone === undefined ? '' : ` in zone ${zone}`} (${opened.where})\n`,
          );
          return EXIT.ok;
        }
        throw new UsageError(`${zone} ${period}${revision === undefined ? ' was never closed' : ` has no revision ${revision}`} (${opened.where})`);
      }
      const needed = revisions.reduce((max, r) => (r.inputsThrough > max ? r.inputsThrough : max), 0n);
      const billing = await billingTablesFor(opened, needed, values['from-log'] === true, io.stderr, enabled);
      try {
        const service = new SettlementService(opened.store, new CommandHandler(opened.store), { sessionsReaching: (range) => sessionsReaching(opened.sql, billing.tables, range) });
        const bar = new ProgressBar({
          label: 'audit settlement',
          unit: 'revisions',
          total: revisions.length,
          stream: io.stderr,
          enabled: enabled && (all || revisions.length > 1),
        });
        let report: SettlementAuditReport;
        try {
          report = await auditSettlement(service, revisions, (done, total) => bar.update(done, total));
        } finally {
          bar.finish();
        }
        if (values.json === true) {
          io.stdout.write(`${JSON.stringify({ ...report, store: opened.where, sessionsFrom: billing.from }, jsonValue, 2)}\n`);
        } else {
          io.stdout.write(formatAudit(report, opened.where, billing.from));
        }
        return report.ok ? EXIT.ok : EXIT.failed;
      } finally {
        await billing.release();
      }
    } finally {
      await opened.close();
    }
  },
};

function periodOption(value: string): string {
  let ms: number;
  try {
    ms = parseInstant('period', value);
  } catch {
    throw new UsageError(`--period ${JSON.stringify(value)} is not a UTC instant such as 2026-11-05T10:00Z`);
  }
  if (ms % QUARTER_HOUR_MS !== 0) throw new UsageError(`--period ${value} is not on a quarter hour (settlement periods are 15 minutes)`);
  return formatInstant(ms);
}

function emptyReport(): SettlementAuditReport {
  return { ok: true, audited: 0, identical: 0, different: 0, errors: 0, revisions: [] };
}

/**
 * The billing tables whose `sessions` list each period's candidate sessions: the live read model
 * when its checkpoint has reached every statement's inputs (and --from-log was not asked for),
 * else a replay of the billing projection up to the highest inputsThrough, dropped afterwards.
 */
async function billingTablesFor(
  opened: { store: EventStore; sql: SqlClient; schema: string },
  through: bigint,
  fromLog: boolean,
  stderr: ProgressStream,
  enabled: boolean,
): Promise<{ tables: TableNames; from: string; release(): Promise<void> }> {
  if (!fromLog) {
    const live = tableNames(opened.schema, billingProjection);
    const checkpoint = await opened.sql
      .query<{ position: string }>(`SELECT position::text AS position FROM ${quoteIdent(opened.schema)}.projection_checkpoints WHERE name = $1 AND version = $2`, [
        billingProjection.name,
        billingProjection.version,
      ])
      .then(({ rows }) => (rows[0] ? BigInt(rows[0].position) : null))
      .catch(() => null);
    if (checkpoint !== null && checkpoint >= through) return { tables: live, from: `the live billing read model (at position ${checkpoint})`, release: async () => {} };
  }
  const bar = new ProgressBar({ label: 'replay billing', unit: 'positions', stream: stderr, enabled });
  let replay: Replay;
  try {
    replay = await replayProjection({
      store: opened.store,
      sql: opened.sql,
      projection: billingProjection,
      asOf: { position: through },
      onProgress: (p) => bar.update(Number(p.scannedThrough), Number(p.target)),
    });
  } finally {
    bar.finish();
  }
  return { tables: replay.tables, from: `a replay of the billing projection up to position ${replay.through}`, release: () => replay.drop() };
}

const jsonValue = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/** The human report: verdict, then each revision, each difference on its own line. */
export function formatAudit(report: SettlementAuditReport, where: string, sessionsFrom: string): string {
  const lines: string[] = [];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (report.ok) {
    lines.push(`ledger audit settlement: OK, ${plural(report.audited, 'revision')} re-derived, every one identical to the recorded statement (${where})`);
  } else {
    const bad = report.different + report.errors;
    lines.push(`ledger audit settlement: DIFFERENT, ${bad} of ${plural(report.audited, 'revision')} not identical to ${bad === 1 ? 'its' : 'their'} re-derivation (${where})`);
  }
  for (const r of report.revisions) lines.push(...formatRevision(r));
  lines.push(`  sessions listed from ${sessionsFrom}`);
  return `${lines.join('\n')}\n`;
}

function formatRevision(r: RevisionAudit): string[] {
  const head = `  ${r.zone} ${r.periodStart} revision ${r.revision} (${r.streamId}, position ${r.position}, recorded ${r.recordedAt})`;
  if (r.verdict === 'identical') return [`${head}: identical (${r.inputCount} inputs, inputs hash ${r.inputsHash})`];
  if (r.verdict === 'error') return [`${head}: could not be re-derived: ${r.error}`];
  return [`${head}: ${r.differences.length} difference${r.differences.length === 1 ? '' : 's'}`, ...r.differences.map((d) => `    ${describeDifference(d)}`)];
}

/** `lines[1].imbalanceAmountMinor (seller-1): recorded "-11", re-derived "-10"` */
export function describeDifference(d: StatementDifference & { subject?: string | null }): string {
  return `${d.path}${d.subject ? ` (${d.subject})` : ''}: recorded ${show(d.recorded)}, re-derived ${show(d.derived)}`;
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value, jsonValue);
}
