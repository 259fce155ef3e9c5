import type { RecordedEvent, SqlClient } from '@v2g/event-store';
import { catalogueProjection, countStreams, eventTypeCounts, findStream, listStreams } from '@v2g/projection-catalogue';
import { readModelFacade, type TableNames } from '@v2g/read-model';
import type { ModuleDefinition } from '../module.ts';

const CATALOGUE_QUERIES = { countStreams, eventTypeCounts, findStream, listStreams };

/** The catalogue read model's questions: streams and their counts, event types. */
export type CatalogueReadModel = ReturnType<typeof catalogueReadModel>;

export function catalogueReadModel(sql: SqlClient, tables: TableNames) {
  return readModelFacade(sql, tables, CATALOGUE_QUERIES);
}

/** A window of a stream's events by stream version: after and before exclusive, `limit` at most. */
export type StreamWindow = { after: bigint | null; before: bigint | null; backward: boolean; limit: number };

/** The catalogue: every stream of the log with its counts (read model), and each stream's events (from the log). */
export type CatalogueModule = {
  readModel: CatalogueReadModel;
  /** A stream's events in the window, oldest first (newest first when backward). */
  streamEvents(streamId: string, window: StreamWindow): Promise<RecordedEvent[]>;
  /** How many events a stream holds. */
  streamVersion(streamId: string): Promise<number>;
};

declare module '../module.ts' {
  interface Modules {
    catalogue: CatalogueModule;
  }
}

export const catalogueModule: ModuleDefinition<'catalogue'> = {
  name: 'catalogue',
  projections: [catalogueProjection],
  open({ sql, store, tables }) {
    return {
      readModel: catalogueReadModel(sql, tables(catalogueProjection)),
      // Stream versions count 1, 2, 3, … without gaps: a window backward is known by arithmetic.
      async streamEvents(streamId, { after, before, backward, limit }) {
        const lower = Number(after ?? 0n);
        if (!backward) {
          const rows = await store.readStream(streamId, { fromVersion: lower + 1, limit });
          return before === null ? rows : rows.filter((e) => e.streamVersion < Number(before));
        }
        const upper = before === null ? (await store.streamVersion(streamId)) + 1 : Number(before);
        const from = Math.max(lower + 1, upper - limit);
        if (upper - from <= 0) return [];
        return (await store.readStream(streamId, { fromVersion: from, limit: upper - from })).reverse();
      },
      streamVersion: (streamId) => store.streamVersion(streamId),
    };
  },
};
