import { CodedError } from '@v2g/domain';
import type { ProjectionFailure } from '@v2g/ledger';
import type { Logger } from 'pino';
import type { LedgerDeps } from '../ledger-app.ts';
import { projectionReports, type ProjectionReport } from '../projection-report.ts';

export type ReadinessBody = {
  status: 'ready' | 'not_ready';
  /** Why not ready; empty when ready. */
  reasons: string[];
  store: { status: 'ok' } | { status: 'unavailable'; error: string };
  headPosition: string | null;
  projections: {
    name: string;
    version: number;
    state: string;
    checkpoint: string;
    lag: string;
    lagSeconds: number;
    failure: (Omit<ProjectionFailure, 'position'> & { position: string }) | null;
    /** needs_rebuild: the version whose tables the database holds. */
    tablesVersion: number | null;
    /** A rebuild in progress (or the last one): its state and how far. */
    rebuild: { id: string; state: string; done: string; total: string; etaSeconds: number | null } | null;
  }[];
};

const PING_TIMEOUT_MS = 3000;
const SERVING_STATES = new Set(['live', 'catching_up']);

/**
 * Ready when the store answers and every projection serves (live or catching up), has no
 * failure, and is at most `maxLag` positions behind the head of the log.
 */
export async function checkReadiness(ledger: Pick<LedgerDeps, 'store' | 'projections'>, maxLag: bigint, log: Logger): Promise<ReadinessBody> {
  const reasons: string[] = [];
  let store: ReadinessBody['store'] = { status: 'ok' };
  try {
    await withTimeout(ledger.store.ping(), PING_TIMEOUT_MS, 'store ping');
  } catch (error) {
    store = { status: 'unavailable', error: describe(error, log) };
    reasons.push('event store unavailable');
  }
  let headPosition: string | null = null;
  let projections: ProjectionReport[] = [];
  if (store.status === 'ok') {
    try {
      const report = await projectionReports(ledger);
      headPosition = report.headPosition.toString();
      projections = report.projections;
    } catch (error) {
      reasons.push(`projection status unavailable: ${describe(error, log)}`);
    }
  }
  for (const p of projections) {
    if (p.failure !== null) reasons.push(`projection ${p.name} v${p.version} failed at position ${p.failure.position}`);
    else if (p.state === 'needs_rebuild') {
      reasons.push(
        `projection ${p.name} needs a rebuild: the database holds version ${p.tablesVersion ?? '?'}, the code is version ${p.version}` +
          (p.rebuild && (p.rebuild.state === 'building' || p.rebuild.state === 'switching')
            ? ` (rebuilding: ${p.rebuild.done}/${p.rebuild.total})`
            : ` (pnpm start --rebuild ${p.name})`),
      );
    } else if (!SERVING_STATES.has(p.state)) reasons.push(`projection ${p.name} v${p.version} is ${p.state}`);
    else if (p.lag > maxLag) reasons.push(`projection ${p.name} v${p.version} lags ${p.lag} positions (at most ${maxLag})`);
  }
  return {
    status: reasons.length === 0 ? 'ready' : 'not_ready',
    reasons,
    store,
    headPosition,
    projections: projections.map((p) => ({
      name: p.name,
      version: p.version,
      state: p.state,
      checkpoint: p.checkpoint.toString(),
      lag: p.lag.toString(),
      lagSeconds: p.lagSeconds,
      failure: p.failure === null ? null : { ...p.failure, position: p.failure.position.toString() },
      tablesVersion: p.tablesVersion ?? null,
      rebuild: p.rebuild
        ? { id: p.rebuild.id, state: p.rebuild.state, done: p.rebuild.done.toString(), total: p.rebuild.total.toString(), etaSeconds: p.rebuild.etaSeconds }
        : null,
    })),
  };
}

/** A CodedError's message is meant for people; anything else is logged and summarised. */
function describe(error: unknown, log: Logger): string {
  if (error instanceof CodedError) return `${error.code}: ${error.message}`;
  log.error({ err: error }, 'readiness check failed unexpectedly');
  return 'unexpected error (see the log)';
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadinessTimeout(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class ReadinessTimeout extends CodedError {
  readonly code = 'TIMEOUT';
}
