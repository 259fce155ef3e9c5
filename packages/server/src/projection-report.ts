import type { ProjectionStatus } from '@v2g/ledger';
import type { LedgerDeps } from './ledger-app.ts';

export type ProjectionReport = ProjectionStatus & {
  /** How far the projection's checkpoint is behind the log's head, in positions (events). */
  lag: bigint;
  /**
   * How long ago the oldest event it has not applied yet was recorded, in seconds; 0 when it has
   * applied everything readable.
   */
  lagSeconds: number;
};

/** Every projection's status with its lag behind the head of the log, in events and in seconds. */
export async function projectionReports(
  ledger: Pick<LedgerDeps, 'store'> & { projections: Pick<LedgerDeps['projections'], 'status'> },
  now: () => number = Date.now,
): Promise<{
  headPosition: bigint;
  projections: ProjectionReport[];
}> {
  // Head first: a checkpoint read after it can only be closer, never report a negative lag.
  const headPosition = await ledger.store.headPosition();
  const statuses = await ledger.projections.status();
  // The oldest unapplied event of each distinct checkpoint behind the head (one read each).
  const behind = [...new Set(statuses.filter((s) => s.checkpoint < headPosition).map((s) => s.checkpoint))];
  const recordedAfter = new Map(
    await Promise.all(
      behind.map(async (checkpoint) => {
        const [next] = await ledger.store.readAll({ after: checkpoint, limit: 1 });
        return [checkpoint, next ? Date.parse(next.metadata.recordedAt) : null] as const;
      }),
    ),
  );
  const at = now();
  return {
    headPosition,
    projections: statuses.map((status) => {
      const oldest = status.checkpoint < headPosition ? recordedAfter.get(status.checkpoint) : null;
      return {
        ...status,
        lag: headPosition > status.checkpoint ? headPosition - status.checkpoint : 0n,
        lagSeconds: oldest == null ? 0 : Math.max(0, Math.round((at - oldest) / 100) / 10),
      };
    }),
  };
}
