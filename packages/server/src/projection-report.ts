import type { ProjectionStatus } from '@v2g/ledger';
import type { LedgerDeps } from './ledger-app.ts';

export type ProjectionReport = ProjectionStatus & {
  /** How far the projection's checkpoint is behind the log's head, in positions. */
  lag: bigint;
};

/** Every projection's status with its lag behind the head of the log. */
export async function projectionReports(ledger: Pick<LedgerDeps, 'store' | 'projections'>): Promise<{
  headPosition: bigint;
  projections: ProjectionReport[];
}> {
  // Head first: a checkpoint read after it can only be closer, never report a negative lag.
  const headPosition = await ledger.store.headPosition();
  const statuses = await ledger.projections.status();
  return {
    headPosition,
    projections: statuses.map((status) => ({
      ...status,
      lag: headPosition > status.checkpoint ? headPosition - status.checkpoint : 0n,
    })),
  };
}
