import { formatInstant, monthRange, parseInstant, type Invoice, type SettlementStatement, QUARTER_HOUR_MS } from '@v2g/domain';
import type { SqlClient } from '@v2g/event-store';
import { billingReadModel, quoteIdent, PROJECTIONS, replayProjection, settlementReadModel, type AsOf, type Projection, type Replay } from '@v2g/ledger';
import { billingProjection } from '@v2g/projection-billing';
import { settlementProjection, type StatementRevision } from '@v2g/projection-settlement';
import { loadConfig } from '../../config.ts';
import { EXIT, integerOption, UsageError, type Command } from '../command.ts';
import { openConfiguredLedgerDb } from '../open-store.ts';
import { ProgressBar } from '../progress.ts';

/** The projections a replay can build, by name (those the server runs). */
export const REPLAYABLE: readonly Projection[] = PROJECTIONS;

export const replayCommand: Command = {
  name: 'replay',
  usage: `Usage: pnpm ledger replay --as-of INSTANT|POSITION --projection NAME [options]

Builds a read model "as known at" a moment: from the events recorded at or before INSTANT
(their recordedAt, the moment the ledger learned them; an event recorded later is left out even
when it sits earlier in the log), or at or below log POSITION, into a throw-away schema
(replay_<random>), never touching the live read models or their checkpoints. Then prints how many
rows each table holds and how far the log was read, and what was asked for below; then drops the
schema (unless --keep).

Options:
  --as-of WHEN          a UTC instant (2026-11-01T00:00Z) or a log position (a whole number)
  --through POSITION    with an instant: also stop at this log position
  --projection NAME     ${REPLAYABLE.map((p) => p.name).join(', ')}
  --zone Z --period P   (settlement) the period's statement as known then: the last revision
                        recorded by then, its lines and transfers, and the revisions known then
  --revision N          (settlement) that revision instead, if it was known then
  --account A --month M (billing) the account's invoice for the UTC month M (2026-11) as known then:
                        readings, prices, tariffs and assignments recorded by then
  --query SQL           a read-only query on the replayed tables; {table} stands for a table of the
                        projection ({statements}, {session_intervals}, …); rows printed
  --keep                keep the schema and print its name (drop it yourself: DROP SCHEMA … CASCADE)
  --schema NAME         build into this schema (created if missing; it must not hold the tables yet)
  --json                everything as JSON on stdout
  --quiet               no progress on stderr
  -h, --help            this text

The store comes from the server's variables (pnpm start --help): DATABASE_URL, DATA_DIR,
EVENTSTORE_URL, DB_SCHEMA; the replay schema goes in the read models' database. With the embedded
store (no DATABASE_URL) stop the server first.

Exit codes: 0 done; 1 the replay failed (an event the projection could not apply, the store could
not be read); 2 bad usage or configuration.
`,
  options: {
    'as-of': { type: 'string' },
    through: { type: 'string' },
    projection: { type: 'string' },
    zone: { type: 'string' },
    period: { type: 'string' },
    revision: { type: 'string' },
    account: { type: 'string' },
    month: { type: 'string' },
    query: { type: 'string' },
    keep: { type: 'boolean' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
  async run({ values }, io) {
    const projection = projectionOption(values.projection);
    const asOf = asOfOption(values['as-of'], values.through);
    const settlementAsk = settlementOption(projection, values);
    const billingAsk = billingOption(projection, values);
    const query = typeof values.query === 'string' ? values.query : undefined;
    if (query !== undefined) {
      for (const [, logical] of query.matchAll(/\{([a-z_][a-z0-9_]*)\}/g)) {
        if (!projection.tables.includes(logical!)) throw new UsageError(`--query: {${logical}} is not a table of ${projection.name} (${projection.tables.join(', ')})`);
      }
    }
    const schema = typeof values.schema === 'string' ? schemaOption(values.schema) : undefined;
    const keep = values.keep === true;
    const json = values.json === true;

    const config = loadConfig(io.env);
    const opened = await openConfiguredLedgerDb(config, 'ledger replay');
    try {
      const bar = new ProgressBar({ label: `replay ${projection.name}`, unit: 'positions', stream: io.stderr, enabled: values.quiet !== true });
      let replay: Replay;
      try {
        replay = await replayProjection({
          store: opened.store,
          sql: opened.sql,
          projection,
          asOf,
          ...(schema === undefined ? {} : { schema }),
          onProgress: (p) => bar.update(Number(p.scannedThrough), Number(p.target)),
        });
      } finally {
        bar.finish();
      }
      try {
        const counts: Record<string, number> = {};
        for (const logical of projection.tables) {
          const { rows } = await opened.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${replay.tables(logical)}`);
          counts[logical] = Number(rows[0]?.n ?? 0);
        }
        const result: Record<string, unknown> = {
          projection: projection.name,
          version: projection.version,
          asOf: { instant: replay.asOf.instant, position: replay.asOf.position?.toString() ?? null },
          through: replay.through.toString(),
          events: replay.events,
          lastApplied: replay.lastApplied.toString(),
          rows: counts,
          schema: keep ? replay.schema : null,
          tables: keep ? Object.fromEntries(projection.tables.map((t) => [t, replay.tables(t)])) : null,
          store: opened.where,
        };
        const out: string[] = [summary(projection, replay, counts, opened.where)];
        if (settlementAsk) {
          const stored = await settlementReadModel(opened.sql, replay.tables).settlementStatement(settlementAsk.zone, settlementAsk.period, settlementAsk.revision ?? null);
          const revisions = await settlementReadModel(opened.sql, replay.tables).settlementRevisions(settlementAsk.zone, settlementAsk.period);
          result.settlement = { zone: settlementAsk.zone, periodStart: settlementAsk.period, statement: stored?.statement ?? null, position: stored?.position ?? null, revisions };
          out.push(formatStatement(settlementAsk, stored?.statement ?? null, stored?.position ?? null, revisions));
        }
        if (billingAsk) {
          const invoice = await billingReadModel(opened.sql, replay.tables).invoice(billingAsk.account, billingAsk.month);
          result.invoice = invoice;
          out.push(formatInvoice(invoice));
        }
        if (query !== undefined) {
          const rows = await runQuery(opened.sql, replay, projection, query);
          result.query = { sql: query, rows };
          out.push(formatRows(rows));
        }
        if (keep) out.push(`kept in schema ${replay.schema} (drop it with: DROP SCHEMA ${quoteIdent(replay.schema)} CASCADE)`);
        io.stdout.write(json ? `${JSON.stringify(result, jsonValue, 2)}\n` : `${out.join('\n')}\n`);
        return EXIT.ok;
      } finally {
        if (!keep) await replay.drop();
      }
    } finally {
      await opened.close();
    }
  },
};

function projectionOption(value: unknown): Projection {
  if (typeof value !== 'string') throw new UsageError(`--projection is required: one of ${REPLAYABLE.map((p) => p.name).join(', ')}`);
  const projection = REPLAYABLE.find((p) => p.name === value);
  if (!projection) throw new UsageError(`--projection ${JSON.stringify(value)} is none of ${REPLAYABLE.map((p) => p.name).join(', ')}`);
  return projection;
}

/** An instant or a position; --through caps an instant by a position. */
export function asOfOption(value: unknown, through: unknown): AsOf {
  if (typeof value !== 'string') throw new UsageError('--as-of is required: a UTC instant (2026-11-01T00:00Z) or a log position');
  const position = (text: string, name: string) => {
    if (!/^[0-9]{1,19}$/.test(text)) throw new UsageError(`--${name} ${JSON.stringify(text)} is not a log position (a whole number)`);
    return BigInt(text);
  };
  const cap = typeof through === 'string' ? position(through, 'through') : undefined;
  if (/^[0-9]+$/.test(value)) {
    if (cap !== undefined) throw new UsageError('--through caps an instant: with --as-of POSITION it says nothing more');
    return { position: position(value, 'as-of') };
  }
  let instant: string;
  try {
    instant = formatInstant(parseInstant('as-of', value));
  } catch {
    throw new UsageError(`--as-of ${JSON.stringify(value)} is neither a UTC instant such as 2026-11-01T00:00Z nor a log position`);
  }
  return cap === undefined ? { instant } : { instant, position: cap };
}

type SettlementAsk = { zone: string; period: string; revision?: number };
type BillingAsk = { account: string; month: string };
type Values = Record<string, unknown>;

function settlementOption(projection: Projection, values: Values): SettlementAsk | null {
  const zone = typeof values.zone === 'string' ? values.zone : undefined;
  const period = typeof values.period === 'string' ? values.period : undefined;
  const revision = integerOption(values.revision, 'revision', 1, 1_000_000);
  if (zone === undefined && period === undefined && revision === undefined) return null;
  if (projection !== settlementProjection) throw new UsageError('--zone, --period and --revision go with --projection settlement');
  if (zone === undefined || period === undefined) throw new UsageError('--zone and --period go together');
  let ms: number;
  try {
    ms = parseInstant('period', period);
  } catch {
    throw new UsageError(`--period ${JSON.stringify(period)} is not a UTC instant such as 2026-11-05T10:00Z`);
  }
  if (ms % QUARTER_HOUR_MS !== 0) throw new UsageError(`--period ${period} is not on a quarter hour`);
  return { zone, period: formatInstant(ms), ...(revision === undefined ? {} : { revision }) };
}

function billingOption(projection: Projection, values: Values): BillingAsk | null {
  const account = typeof values.account === 'string' ? values.account : undefined;
  const month = typeof values.month === 'string' ? values.month : undefined;
  if (account === undefined && month === undefined) return null;
  if (projection !== billingProjection) throw new UsageError('--account and --month go with --projection billing');
  if (account === undefined || month === undefined) throw new UsageError('--account and --month go together');
  try {
    monthRange(month);
  } catch {
    throw new UsageError(`--month ${JSON.stringify(month)} is not a month such as 2026-11`);
  }
  return { account, month };
}

function schemaOption(value: string): string {
  try {
    quoteIdent(value);
  } catch {
    throw new UsageError(`--schema ${JSON.stringify(value)} is not a plain lower-case SQL name`);
  }
  return value;
}

const jsonValue = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value instanceof Date ? value.toISOString() : value);

function summary(projection: Projection, replay: Replay, counts: Record<string, number>, where: string): string {
  const { instant, position } = replay.asOf;
  const cut =
    instant !== null
      ? `as known at ${instant} (events recorded at or before it${position === null ? '' : `, at or below position ${position}`})`
      : position !== null
        ? `as of position ${position}`
        : 'as known now';
  const width = Math.max(...projection.tables.map((t) => t.length));
  const n = (count: number, word: string) => `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`;
  return [
    `ledger replay: ${projection.name} v${projection.version} ${cut} (${where})`,
    `  log read through position ${replay.through}: ${n(replay.events, 'event')} applied${replay.events > 0 ? `, the last at position ${replay.lastApplied}` : ''}`,
    ...projection.tables.map((t) => `  ${t.padEnd(width)}  ${n(counts[t] ?? 0, 'row')}`),
  ].join('\n');
}

function formatStatement(ask: SettlementAsk, statement: SettlementStatement | null, position: string | null, revisions: StatementRevision[]): string {
  const what = `settlement ${ask.zone} ${ask.period}`;
  if (statement === null) {
    return ask.revision === undefined ? `${what}: not closed as known then` : `${what}: revision ${ask.revision} not known then (${revisions.length} revisions were)`;
  }
  const lines = [
    `${what}: revision ${statement.revision} (of ${revisions.length} known then; position ${position}), ${statement.currency}`,
    `  known at ${statement.knownAt}, inputs through position ${statement.inputsThrough}: ${statement.inputCount} inputs, hash ${statement.inputsHash}`,
    `  participant / account: contracted Wh, metered net Wh, imbalance Wh, price minor/kWh, imbalance amount, trade amount (minor)`,
  ];
  for (const l of statement.lines) {
    lines.push(
      `    ${l.participantId} / ${l.account}: ${l.contractedWh}, ${l.meteredNetWh}, ${l.imbalanceWh}, ${l.imbalancePriceMinorPerKWh}, ${l.imbalanceAmountMinor}, ${l.tradeAmountMinor}`,
    );
  }
  lines.push(`  transfers (${statement.transfers.length}):`);
  for (const t of statement.transfers) lines.push(`    ${t.transferId}: ${t.amount} ${t.ledger} ${t.debitAccount} -> ${t.creditAccount} (${t.kind})`);
  return lines.join('\n');
}

function formatInvoice(invoice: Invoice): string {
  const lines = [`invoice ${invoice.accountId} ${invoice.month} as known then: total ${invoice.totalMinor} (minor units of ${invoice.currency}), ${invoice.lines.length} lines`];
  for (const l of invoice.lines) {
    lines.push(`    ${l.sessionId} ${l.component} ${l.tariffId} ${l.priceLabel}: ${l.energyWh} Wh, ${l.amountMinor} (exact ${l.exactAmountMinor})`);
  }
  if (invoice.unpricedIntervals.length > 0) lines.push(`  not priced yet: ${invoice.unpricedIntervals.length} intervals`);
  if (invoice.untariffedIntervals.length > 0) lines.push(`  no tariff: ${invoice.untariffedIntervals.length} intervals`);
  return lines.join('\n');
}

/** The query with {table} replaced by the replay's tables, in a read-only transaction. */
async function runQuery(sql: SqlClient, replay: Replay, projection: Projection, text: string): Promise<Record<string, unknown>[]> {
  const resolved = text.replace(/\{([a-z_][a-z0-9_]*)\}/g, (_match, logical: string) => {
    if (!projection.tables.includes(logical)) throw new UsageError(`--query: {${logical}} is not a table of ${projection.name} (${projection.tables.join(', ')})`);
    return replay.tables(logical);
  });
  return sql.transaction(async (tx) => {
    await tx.query('SET TRANSACTION READ ONLY');
    const { rows } = await tx.query<Record<string, unknown>>(resolved);
    return rows;
  });
}

function formatRows(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return 'query: no rows';
  const columns = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v, jsonValue) : String(v));
  return [`query: ${rows.length} row${rows.length === 1 ? '' : 's'}`, columns.join('\t'), ...rows.map((r) => columns.map((c) => cell(r[c])).join('\t'))].join('\n');
}
