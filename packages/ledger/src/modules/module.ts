import type { KeyObject } from 'node:crypto';
import type { TimeBounds } from '@v2g/domain';
import type { EventStore, SqlClient } from '@v2g/event-store';
import type { Projection, ProjectionStatus, TableNames } from '@v2g/read-model';
import type { Logger } from 'pino';
import type { CommandHandler } from '../command-handler.ts';

/**
 * What a module is: one capability of the ledger (grid, billing, market, …) in one folder, with
 * its commands' service, its read-model facade, its projections and its background duties.
 *
 * Every opened module is a field of `Modules`. Each module adds its own field from its folder,
 * by declaration merging:
 *
 *     declare module '../module.ts' {
 *       interface Modules { grid: GridModule }
 *     }
 *
 * so that a module reaches another through `platform.modules.<name>` (looked up when used, not
 * when opened: two modules may use each other) without importing its files, and the composition
 * root (./index.ts) lists each module on one line.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by each module's declaration merging
export interface Modules {}

/** Settings a module may read: each comes from the server's configuration (see its --help). */
export type ModuleSettings = {
  /** How long chargers take to follow a setpoint (CHARGER_RESPONSE_MS); absent: the grid's default. */
  chargerResponseMs?: number;
  /** How far field times and departures may stray from the clock; absent: DEFAULT_TIME_BOUNDS. */
  timeBounds?: TimeBounds;
  /** An operator key chosen at install time, recorded (hashed) at start when new. */
  bootstrapOperatorKey?: { keyId: string; secret: string };
  /** Log checkpoints (tamper evidence) in the background; absent: none. */
  checkpoint?: { signingKey: KeyObject | null; everyEvents: number; everyMs: number; sinkFile: string | null };
};

/** What every module is opened with: the shared infrastructure, the clock, and its peers. */
export type Platform = {
  store: EventStore;
  /** Where the read models live (PostgreSQL server or PGlite). */
  sql: SqlClient;
  /** The schema of the log and of the read models' bookkeeping. */
  schema: string;
  commands: CommandHandler;
  /** The ledger's clock, epoch ms: what "now" is for every rule. */
  clock: () => number;
  logger: Logger;
  settings: ModuleSettings;
  /** A projection's live table names (they follow a blue/green switch); only its own module asks. */
  tables(projection: Projection): TableNames;
  /** A projection's state and checkpoint in this process; undefined when it is not run here. */
  projectionStatus(name: string): Promise<ProjectionStatus | undefined>;
  /** True once the ledger is closing: background duties stop waiting. */
  closing(): boolean;
  /** The other modules, by name. */
  modules: Modules;
};

/** A module's background work, started once the projections run, stopped before they stop. */
export type Duties = {
  start?(): Promise<void>;
  stop?(): Promise<void>;
};

/** A module as the composition root registers it. */
export type ModuleDefinition<Name extends keyof Modules = keyof Modules> = {
  name: Name;
  /** The read models this module builds, in the order status lists them. */
  projections: readonly Projection[];
  open(platform: Platform): Modules[Name] & Duties;
};

/** Waits until a projection is live; false when it failed or stopped, or the ledger is closing. */
export async function projectionLive(platform: Pick<Platform, 'projectionStatus' | 'closing'>, name: string, pollMs = 250): Promise<boolean> {
  for (;;) {
    if (platform.closing()) return false;
    const status = await platform.projectionStatus(name);
    if (status?.state === 'live') return true;
    if (status?.state === 'failed' || status?.state === 'stopped') return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
