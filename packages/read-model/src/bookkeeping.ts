import type { RecordedEvent, SqlExecutor } from '@v2g/event-store';
import { quoteIdent } from './projection.ts';

/** The event a projection stopped at, as its checkpoint (or its rebuild) records it. */
export type ProjectionFailure = {
  position: bigint;
  streamId: string;
  streamVersion: number;
  eventType: string;
  message: string;
  failedAt: string;
};

/** The failure record of `event`, which threw `cause`. */
export function failureOf(event: RecordedEvent, cause: unknown, at: Date = new Date()): ProjectionFailure {
  return {
    position: event.globalPosition,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventType: event.type,
    message: cause instanceof Error ? cause.message : String(cause),
    failedAt: at.toISOString(),
  };
}

/** A failure as the jsonb columns hold it (the position as a decimal string). */
export type SerializedFailure = Omit<ProjectionFailure, 'position'> & { position: string };

export function serializeFailure(failure: ProjectionFailure): string {
  return JSON.stringify({ ...failure, position: failure.position.toString() });
}

export function parseFailure(failure: SerializedFailure): ProjectionFailure {
  return { ...failure, position: BigInt(failure.position) };
}

/** The states of a rebuild row that make it the projection's active rebuild (one at most). */
export const ACTIVE_REBUILD_STATES = `('building', 'switching', 'failed')`;

/**
 * Creates the checkpoint and rebuild tables when they are missing (the runner's and the CLI's
 * first step): `projection_checkpoints` (one row per projection and version: the position of the
 * last event applied, and the failure it stopped at) and `projection_rebuilds` (the blue/green
 * rebuilds, see the ledger's projection-rebuild.ts).
 */
export async function createProjectionBookkeeping(tx: SqlExecutor, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.projection_checkpoints (
    name text NOT NULL,
    version integer NOT NULL,
    position bigint NOT NULL DEFAULT 0,
    failure jsonb,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
  )`);
  await tx.query(`CREATE TABLE IF NOT EXISTS ${s}.projection_rebuilds (
    id text PRIMARY KEY,
    name text NOT NULL,
    version integer NOT NULL,
    state text NOT NULL CHECK (state IN ('building', 'switching', 'failed', 'switched', 'cancelled')),
    start_position bigint NOT NULL,
    position bigint NOT NULL,
    head bigint NOT NULL,
    resumed_from bigint,
    run_start_position bigint NOT NULL,
    run_started_at timestamptz NOT NULL,
    started_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    owner text,
    lease_until timestamptz,
    requested_by text NOT NULL,
    failure jsonb,
    error text
  )`);
  await tx.query(`CREATE UNIQUE INDEX IF NOT EXISTS projection_rebuilds_active ON ${s}.projection_rebuilds (name) WHERE state IN ${ACTIVE_REBUILD_STATES}`);
}
