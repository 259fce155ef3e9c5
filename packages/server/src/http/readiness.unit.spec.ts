import { MemoryEventStore, SchemaRegistry } from '@v2g/event-store';
import type { ProjectionStatus } from '@v2g/ledger';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { checkReadiness } from './readiness.ts';

const registry = SchemaRegistry.fromDirectory();
const log = pino({ level: 'silent' });

async function storeWithEvents(n: number) {
  const store = new MemoryEventStore({ registry });
  for (let i = 0; i < n; i++) {
    await store.append(`site-r${i}`, [{ type: 'SiteRegistered', data: { siteId: `r${i}`, name: 'R', importLimitW: '1', exportLimitW: '1' } }], {
      expectedVersion: 'no_stream',
      commandId: `c${i}`,
      actor: 'test',
    });
  }
  return store;
}

const status = (over: Partial<ProjectionStatus>): ProjectionStatus => ({
  name: 'catalogue',
  version: 1,
  state: 'live',
  checkpoint: 0n,
  failure: null,
  ...over,
});

describe('checkReadiness', () => {
  it('is ready when every projection serves within the lag allowed', async () => {
    const store = await storeWithEvents(3);
    const body = await checkReadiness({ store, projections: { status: async () => [status({ checkpoint: 1n })] } }, 2n, log);
    expect(body).toMatchObject({ status: 'ready', reasons: [], headPosition: '3', projections: [{ lag: '2', checkpoint: '1' }] });
  });

  it('is not ready when a projection lags too far, is starting, or failed', async () => {
    const store = await storeWithEvents(3);
    const lagging = await checkReadiness({ store, projections: { status: async () => [status({ checkpoint: 0n })] } }, 2n, log);
    expect(lagging.status).toBe('not_ready');
    expect(lagging.reasons).toEqual(['projection catalogue v1 lags 3 positions (at most 2)']);

    const starting = await checkReadiness({ store, projections: { status: async () => [status({ state: 'starting', checkpoint: 3n })] } }, 2n, log);
    expect(starting.reasons).toEqual(['projection catalogue v1 is starting']);

    const failure = { position: 2n, streamId: 'site-r1', streamVersion: 1, eventType: 'SiteRegistered', message: 'boom', failedAt: '2026-01-01T00:00:00.000Z' };
    const failed = await checkReadiness({ store, projections: { status: async () => [status({ state: 'failed', checkpoint: 1n, failure })] } }, 10n, log);
    expect(failed.status).toBe('not_ready');
    expect(failed.projections[0]!.failure).toEqual({ ...failure, position: '2' });
  });

  it('is not ready while a projection needs a rebuild (its code version changed), naming it and how to rebuild it', async () => {
    const store = await storeWithEvents(3);
    const body = await checkReadiness(
      {
        store,
        projections: { status: async () => [status({ checkpoint: 3n }), status({ name: 'billing', version: 2, state: 'needs_rebuild', checkpoint: 0n, tablesVersion: 1 })] },
      },
      10n,
      log,
    );
    expect(body.status).toBe('not_ready');
    expect(body.reasons).toEqual(['projection billing needs a rebuild: the database holds version 1, the code is version 2 (pnpm start --rebuild billing)']);
    expect(body.projections[1]).toMatchObject({ name: 'billing', state: 'needs_rebuild', tablesVersion: 1, rebuild: null, lag: '3' });
    // The lag in seconds: since the oldest event it has not applied was recorded.
    expect(body.projections[1]!.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(body.projections[0]!.lagSeconds).toBe(0);
  });

  it('is not ready when the store does not answer', async () => {
    const store = await storeWithEvents(0);
    store.ping = () => Promise.reject(new Error('down'));
    const body = await checkReadiness({ store, projections: { status: async () => [status({})] } }, 10n, log);
    expect(body).toMatchObject({ status: 'not_ready', store: { status: 'unavailable' }, headPosition: null, projections: [] });
  });
});
