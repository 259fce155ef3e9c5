import { MemoryEventStore, SchemaRegistry } from '@v2g/event-store';
import type { ProjectionStatus } from '@v2g/ledger';
import { describe, expect, it } from 'vitest';
import { projectionReports } from './projection-report.ts';

const registry = SchemaRegistry.fromDirectory();

describe('projectionReports', () => {
  it('gives each projection its lag in events and in seconds since the oldest event it has not applied was recorded', async () => {
    const store = new MemoryEventStore({ registry });
    for (let i = 0; i < 4; i++) {
      await store.append(`site-l${i}`, [{ type: 'SiteRegistered', data: { siteId: `l${i}`, name: 'L', importLimitW: '1', exportLimitW: '1' } }], {
        expectedVersion: 'no_stream',
        commandId: `l${i}`,
        actor: 'test',
      });
    }
    const events = await store.readAll();
    const status = (name: string, checkpoint: bigint): ProjectionStatus => ({ name, version: 1, state: 'live', checkpoint, failure: null });
    const oldestUnapplied = Date.parse(events[1]!.metadata.recordedAt);
    const report = await projectionReports(
      { store, projections: { status: async () => [status('live', 4n), status('behind', 1n), status('empty', 0n)] } },
      () => oldestUnapplied + 12_345,
    );
    expect(report.headPosition).toBe(4n);
    expect(report.projections.map((p) => [p.name, p.lag, p.lagSeconds])).toEqual([
      ['live', 0n, 0],
      ['behind', 3n, 12.3],
      ['empty', 4n, Math.round((oldestUnapplied + 12_345 - Date.parse(events[0]!.metadata.recordedAt)) / 100) / 10],
    ]);
  });
});
