import type { SettlementStatement } from '@v2g/domain';
import type { EventStore } from '@v2g/event-store';
import type { SettlementService, StatementDifference } from './settlement-service.ts';

/** One recorded statement revision: what the audit re-derives. */
export type RecordedRevision = {
  zone: string;
  periodStart: string;
  revision: number;
  /** The SettlementPeriodClosed event. */
  streamId: string;
  position: bigint;
  recordedAt: string;
  /** The log position its close read up to (its inputs are all at or below it). */
  inputsThrough: bigint;
};

export type RevisionAudit = {
  zone: string;
  periodStart: string;
  revision: number;
  streamId: string;
  position: string;
  recordedAt: string;
  inputsHash: string;
  inputCount: number;
  /** identical: re-derived field for field; different: see `differences`; error: it could not be re-derived (`error`). */
  verdict: 'identical' | 'different' | 'error';
  /** Each with what it is about: a line's participant, a transfer's id (as recorded, else as re-derived). */
  differences: (StatementDifference & { subject: string | null })[];
  error?: string;
};

export type SettlementAuditReport = {
  ok: boolean;
  audited: number;
  identical: number;
  different: number;
  errors: number;
  revisions: RevisionAudit[];
};

/**
 * Every SettlementPeriodClosed recorded in the log (stream category `settlement`), optionally of
 * one zone, one period and one revision, in log order. Pages through the category.
 */
export async function listSettlementRevisions(store: EventStore, filter: { zone?: string; periodStart?: string; revision?: number } = {}): Promise<RecordedRevision[]> {
  const found: RecordedRevision[] = [];
  let after = 0n;
  for (;;) {
    const page = await store.readCategory('settlement', { after, limit: 1000 });
    if (page.length === 0) break;
    for (const event of page) {
      if (event.type !== 'SettlementPeriodClosed') continue;
      const statement = event.data as SettlementStatement;
      if (filter.zone !== undefined && statement.zone !== filter.zone) continue;
      if (filter.periodStart !== undefined && Date.parse(statement.periodStart) !== Date.parse(filter.periodStart)) continue;
      if (filter.revision !== undefined && statement.revision !== filter.revision) continue;
      found.push({
        zone: statement.zone,
        periodStart: statement.periodStart,
        revision: statement.revision,
        streamId: event.streamId,
        position: event.globalPosition,
        recordedAt: event.metadata.recordedAt,
        inputsThrough: BigInt(statement.inputsThrough),
      });
    }
    after = page.at(-1)!.globalPosition;
  }
  return found;
}

/**
 * Re-derives each recorded revision from the raw events it was derived from
 * (SettlementService.rederive: the same streams up to its inputsThrough, as known at its knownAt,
 * after the revision before it) and compares it with the recorded statement: the inputs hash and
 * count, every line, every transfer. A revision that cannot be re-derived at all (its inputs no
 * longer say what they said) is an error, which fails the audit as a difference does.
 */
export async function auditSettlement(
  service: Pick<SettlementService, 'rederive'>,
  revisions: readonly RecordedRevision[],
  onProgress?: (done: number, total: number) => void,
): Promise<SettlementAuditReport> {
  const results: RevisionAudit[] = [];
  for (const [i, recorded] of revisions.entries()) {
    const base = {
      zone: recorded.zone,
      periodStart: recorded.periodStart,
      revision: recorded.revision,
      streamId: recorded.streamId,
      position: recorded.position.toString(),
      recordedAt: recorded.recordedAt,
    };
    try {
      const audit = await service.rederive(recorded.zone, recorded.periodStart, recorded.revision);
      results.push({
        ...base,
        inputsHash: audit.recorded.inputsHash,
        inputCount: audit.recorded.inputCount,
        verdict: audit.matches ? 'identical' : 'different',
        differences: audit.differences.map((d) => ({ ...d, subject: subjectOf(d.path, audit.recorded, audit.derived) })),
      });
    } catch (error) {
      results.push({ ...base, inputsHash: '', inputCount: 0, verdict: 'error', differences: [], error: error instanceof Error ? error.message : String(error) });
    }
    onProgress?.(i + 1, revisions.length);
  }
  const count = (verdict: RevisionAudit['verdict']) => results.filter((r) => r.verdict === verdict).length;
  const identical = count('identical');
  return { ok: identical === results.length, audited: results.length, identical, different: count('different'), errors: count('error'), revisions: results };
}

/** What a difference's path is about: `lines[1]…` → the line's participant, `transfers[3]…` → the transfer's id. */
function subjectOf(path: string, recorded: SettlementStatement, derived: SettlementStatement): string | null {
  const match = /^(lines|transfers)\[(\d+)\]/.exec(path);
  if (!match) return null;
  const i = Number(match[2]);
  if (match[1] === 'lines') return (recorded.lines[i] ?? derived.lines[i])?.participantId ?? null;
  return (recorded.transfers[i] ?? derived.transfers[i])?.transferId ?? null;
}
