import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { siteDecider, SiteAlreadyRegistered, siteStreamId, type SiteCommand } from '@v2g/domain';
import { CommandIdReused, MemoryEventStore, SchemaRegistry, StreamVersionConflict, type EventStore } from '@v2g/event-store';
import { describe, expect, it } from 'vitest';
import { CommandHandler } from '../src/command-handler.ts';

const registry = SchemaRegistry.fromDirectory();
const ctx = () => ({ commandId: randomUUID(), actor: 'operator:test' });
const register = (siteId: string): SiteCommand => ({
  type: 'RegisterSite',
  siteId,
  name: `Site ${siteId}`,
  importLimitW: '100000',
  exportLimitW: '50000',
});

describe('CommandHandler', () => {
  it('decides on the current state and appends with the version it decided on', async () => {
    const store = new MemoryEventStore({ registry });
    const handler = new CommandHandler(store);
    const siteId = randomUUID();
    const { result, events } = await handler.handle(siteDecider, siteStreamId(siteId), register(siteId), ctx());
    expect(events.map((e) => e.type)).toEqual(['SiteRegistered']);
    expect(result).toMatchObject({ nextExpectedVersion: 1, duplicate: false });
    await handler.handle(siteDecider, siteStreamId(siteId), { type: 'RenameSite', siteId, name: 'North' }, ctx());
    await expect(handler.handle(siteDecider, siteStreamId(siteId), register(siteId), ctx())).rejects.toBeInstanceOf(SiteAlreadyRegistered);
    const { state, version } = await new CommandHandler(store).load(siteDecider, siteStreamId(siteId));
    expect(version).toBe(2);
    expect(state).toMatchObject({ status: 'registered', name: 'North' });
  });

  it("loads a stream through the decider's evolveAll when it has one, to the same state as event by event", async () => {
    const store = new MemoryEventStore({ registry });
    const siteId = randomUUID();
    const handler = new CommandHandler(store);
    await handler.handle(siteDecider, siteStreamId(siteId), register(siteId), ctx());
    for (const name of ['North', 'South', 'East']) await handler.handle(siteDecider, siteStreamId(siteId), { type: 'RenameSite', siteId, name }, ctx());
    const folds: number[] = [];
    const oneAtATime = { ...siteDecider, evolveAll: undefined };
    const counted = {
      ...siteDecider,
      evolveAll: (state: Parameters<typeof siteDecider.evolve>[0], events: readonly Parameters<typeof siteDecider.evolve>[1][]) => (
        folds.push(events.length),
        siteDecider.evolveAll!(state, events)
      ),
    };
    const loaded = await new CommandHandler(store).load(counted, siteStreamId(siteId));
    expect(folds).toEqual([4]);
    expect(loaded).toEqual(await new CommandHandler(store).load(oneAtATime, siteStreamId(siteId)));
    expect(loaded).toMatchObject({ version: 4, state: { name: 'East' } });
  });

  it('returns the recorded result for a retried command, even though deciding again would refuse it', async () => {
    const store = new MemoryEventStore({ registry });
    const handler = new CommandHandler(store);
    const siteId = randomUUID();
    const context = ctx();
    const first = await handler.handle(siteDecider, siteStreamId(siteId), register(siteId), context);
    const retry = await new CommandHandler(store).handle(siteDecider, siteStreamId(siteId), register(siteId), context);
    expect(retry.result).toEqual({ ...first.result, duplicate: true });
    expect(retry.events).toEqual([]);
    expect(await store.streamVersion(siteStreamId(siteId))).toBe(1);
    await expect(handler.handle(siteDecider, siteStreamId('other'), register('other'), context)).rejects.toBeInstanceOf(CommandIdReused);
  });

  it('sees writes made by another handler: the cache is only a starting point', async () => {
    const store = new MemoryEventStore({ registry });
    const a = new CommandHandler(store);
    const b = new CommandHandler(store);
    const siteId = randomUUID();
    await a.handle(siteDecider, siteStreamId(siteId), register(siteId), ctx());
    await b.handle(siteDecider, siteStreamId(siteId), { type: 'RenameSite', siteId, name: 'Renamed by b' }, ctx());
    const { events } = await a.handle(siteDecider, siteStreamId(siteId), { type: 'RenameSite', siteId, name: 'Renamed by b' }, ctx());
    expect(events).toEqual([]); // a's cached state was refreshed with b's rename before deciding
  });

  it('decides again after a concurrent writer moved the stream, up to a bound', async () => {
    const base = new MemoryEventStore({ registry });
    const siteId = randomUUID();
    const streamId = siteStreamId(siteId);
    await new CommandHandler(base).handle(siteDecider, streamId, register(siteId), ctx());
    let interfere = 2;
    // A store whose first appends lose a race: another writer renames the site just before.
    const racy: EventStore = Object.create(base, {
      append: {
        value: async (...args: Parameters<EventStore['append']>) => {
          if (interfere-- > 0) {
            await base.append(streamId, [{ type: 'SiteRenamed', data: { siteId, name: `racer ${interfere}` } }], {
              expectedVersion: 'any',
              commandId: randomUUID(),
              actor: 'racer',
            });
          }
          return base.append(...args);
        },
      },
    });
    const { result } = await new CommandHandler(racy).handle(siteDecider, streamId, { type: 'RenameSite', siteId, name: 'Final' }, ctx());
    expect(result.nextExpectedVersion).toBe(4);
    const last = (await base.readStream(streamId, { direction: 'backwards', limit: 1 }))[0];
    expect(last?.data).toEqual({ siteId, name: 'Final' });

    interfere = 10;
    await expect(new CommandHandler(racy, { maxAttempts: 3 }).handle(siteDecider, streamId, { type: 'RenameSite', siteId, name: 'Never' }, ctx())).rejects.toBeInstanceOf(
      StreamVersionConflict,
    );
  });

  it('every event the site decider produces matches its JSON Schema (property)', async () => {
    // Limits the domain accepts: up to 1 GW, to the milliwatt (QUANTITY_BOUNDS.powerW).
    const decimal = fc.oneof(
      fc.bigInt({ min: 0n, max: 10n ** 9n }).map(String),
      fc.tuple(fc.nat({ max: 999_999_999 }), fc.nat({ max: 999 })).map(([a, b]) => `${a}.${b}`),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,30}$/),
        fc.string({ minLength: 1, maxLength: 80 }).filter((s) => s.trim() !== ''),
        decimal,
        decimal,
        async (siteId, name, imp, exp) => {
          const store = new MemoryEventStore({ registry });
          const { events } = await new CommandHandler(store).handle(
            siteDecider,
            siteStreamId(siteId),
            { type: 'RegisterSite', siteId, name, importLimitW: imp, exportLimitW: exp },
            ctx(),
          );
          // The store validated on append; check directly as well so a failure names the schema.
          for (const event of events) registry.validate(event.type, registry.latestVersion(event.type), event.data);
        },
      ),
      { numRuns: 200 },
    );
  });
});
