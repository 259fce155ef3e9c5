import type { SqlExecutor } from '@v2g/event-store';
import { parseFailure, type ProjectionFailure, type SerializedFailure } from './bookkeeping.ts';
import { quoteIdent, type Projection } from './projection.ts';
import { latestRebuilds, type RebuildProgress } from './projection-rebuild.ts';

/**
 * `needs_rebuild`: the database holds this projection's tables of another (code) version only. It is
 * neither built nor served (its queries are refused) until an operator asks for the rebuild.
 */
export type ProjectionState = 'starting' | 'catching_up' | 'live' | 'failed' | 'stopped' | 'needs_rebuild';

export type ProjectionStatus = {
  name: string;
  version: number;
  state: ProjectionState;
  /** The position of the last event applied (0n before the first). */
  checkpoint: bigint;
  failure: ProjectionFailure | null;
  /** needs_rebuild: the version whose tables the database holds (the newest, when several). */
  tablesVersion?: number | null;
  /** The latest blue/green rebuild of the projection: the one in progress, else how the last one ended. */
  rebuild?: RebuildProgress | null;
};

/**
 * Every projection's status from the database alone, for a process that runs no projection (the
 * CLI): needs_rebuild when only other versions have checkpoints, failed with a recorded failure,
 * stopped when it never started, else live when its checkpoint is at `head`, catching_up below it.
 */
export async function readProjectionStatus(sql: SqlExecutor, schema: string, projections: readonly Projection[], head: bigint): Promise<ProjectionStatus[]> {
  const [{ rows }, rebuilds] = await Promise.all([
    sql.query<{ name: string; version: number; position: string; failure: SerializedFailure | null }>(
      `SELECT name, version, position::text AS position, failure FROM ${quoteIdent(schema)}.projection_checkpoints`,
    ),
    latestRebuilds(sql, schema),
  ]);
  return projections.map((projection) => {
    const mine = rows.filter((r) => r.name === projection.name);
    const row = mine.find((r) => r.version === projection.version);
    const checkpoint = BigInt(row?.position ?? 0);
    const failure = row?.failure ? parseFailure(row.failure) : null;
    const needsRebuild = !row && mine.length > 0;
    const state: ProjectionState = needsRebuild ? 'needs_rebuild' : !row ? 'stopped' : failure ? 'failed' : checkpoint >= head ? 'live' : 'catching_up';
    return {
      name: projection.name,
      version: projection.version,
      state,
      checkpoint,
      failure,
      tablesVersion: needsRebuild ? Math.max(...mine.map((r) => r.version)) : null,
      rebuild: rebuilds.get(projection.name) ?? null,
    };
  });
}
