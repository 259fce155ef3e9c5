import { generateKeyPairSync } from 'node:crypto';
import { MemoryEventStore, SchemaRegistry, type EventStore, type NewEvent } from '@v2g/event-store';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_STREAM,
  Checkpointer,
  CheckpointHistoryLost,
  LogDigest,
  verifyLog,
  type CheckpointSink,
  type LogCheckpointedData,
  type PublishedCheckpoint,
} from '../src/index.ts';

/** The checkpointer on the in-memory store: deterministic, incremental, periodic, safe against a second one. */

const registry = SchemaRegistry.fromDirectory();
const T0 = Date.parse('2026-11-27T10:00:00.000Z');
const renamed = (siteId: string, n: number): NewEvent => ({ type: 'SiteRenamed', data: { siteId, name: `Depot ${n}` } });

function memoryStore(): EventStore {
  let tick = 0;
  return new MemoryEventStore({ registry, clock: () => new Date(T0 + 1000 * tick++) });
}

/** n events over three streams, the same for every store (command ids included). */
async function fill(store: EventStore, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const site = `s${i % 3}`;
    await store.append(`site-${site}`, [renamed(site, i)], { expectedVersion: 'any', commandId: `fill-${i}`, actor: 'test' });
  }
}

const checkpoints = async (store: EventStore) => (await store.readStream(CHECKPOINT_STREAM)).map((e) => e.data as LogCheckpointedData);

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Checkpointer', () => {
  it('writes the same checkpoint (data, signature, occurredAt) for the same log prefix', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const [one, two] = [memoryStore(), memoryStore()];
    for (const store of [one, two]) {
      await fill(store, 0, 7);
      await new Checkpointer({ store, signingKey: privateKey }).checkpointNow();
      await fill(store, 7, 5);
      await new Checkpointer({ store, signingKey: privateKey }).checkpointNow();
    }
    const [a, b] = [await one.readStream(CHECKPOINT_STREAM), await two.readStream(CHECKPOINT_STREAM)];
    expect(a.map((e) => e.data)).toEqual(b.map((e) => e.data));
    expect(a.map((e) => e.metadata.occurredAt)).toEqual(b.map((e) => e.metadata.occurredAt));
    expect(a.map((e) => e.metadata.commandId)).toEqual(['checkpoint-log@7', 'checkpoint-log@13']);
    // occurredAt is the recordedAt of the last event covered.
    const [covered] = await one.readAll({ after: 6n, limit: 1 });
    expect(a[0]!.metadata.occurredAt).toBe(covered!.metadata.recordedAt);
  });

  it('goes on from the previous checkpoint and gives the root a digest of the whole prefix gives', async () => {
    const store = memoryStore();
    await fill(store, 0, 5);
    const first = await new Checkpointer({ store }).checkpointNow();
    expect(first).toMatchObject({ appended: true, duplicate: false, version: 1, checkpoint: { through: '5', count: '5', streams: '3', previousRoot: null } });
    await fill(store, 5, 20);
    // A new instance (a restart) reads only what came after the first checkpoint.
    const second = await new Checkpointer({ store, pageSize: 3 }).checkpointNow();
    expect(second).toMatchObject({ appended: true, version: 2, checkpoint: { through: '26', count: '26', streams: '4', previousThrough: '5' } });
    const digest = LogDigest.empty();
    for (const event of await store.readAll({ limit: 26 })) digest.add(event);
    expect(second.appended && second.checkpoint).toMatchObject({ merkleRoot: digest.snapshot().merkleRoot, frontier: digest.snapshot().frontier });
    expect(second.appended && second.checkpoint.previousRoot).toBe(first.appended && first.checkpoint.merkleRoot);
    expect((await verifyLog(store)).ok).toBe(true);
  });

  it('says so when there is nothing to checkpoint: an empty log, or nothing after the last checkpoint', async () => {
    const store = memoryStore();
    const checkpointer = new Checkpointer({ store });
    expect(await checkpointer.checkpointNow()).toEqual({ appended: false, reason: 'empty-log', latest: null });
    await fill(store, 0, 2);
    await checkpointer.checkpointNow();
    expect(await checkpointer.checkpointNow()).toMatchObject({ appended: false, reason: 'up-to-date', latest: { version: 1 } });
    expect(await new Checkpointer({ store }).checkpointNow()).toMatchObject({ appended: false, reason: 'up-to-date' });
    expect(await checkpointer.latest()).toMatchObject({ version: 1, checkpoint: { count: '2' } });
  });

  it('never forks the chain when two checkpointers run at once', async () => {
    const store = memoryStore();
    await fill(store, 0, 10);
    const racers = [new Checkpointer({ store }), new Checkpointer({ store }), new Checkpointer({ store })];
    const outcomes = await Promise.all(racers.map((c) => c.checkpointNow()));
    expect(outcomes.filter((o) => o.appended && !o.duplicate)).toHaveLength(1);
    await fill(store, 10, 3);
    await Promise.all(racers.map((c) => c.checkpointNow()));
    const recorded = await checkpoints(store);
    expect(recorded.map((c) => c.through)).toEqual(['10', '14']);
    expect(recorded[1]!.previousRoot).toBe(recorded[0]!.merkleRoot);
    expect((await verifyLog(store)).ok).toBe(true);
  });

  it('when started, checkpoints every N events, and every T ms when events came, never when idle', async () => {
    const store = memoryStore();
    const byCount = new Checkpointer({ store, everyEvents: 5, everyMs: 0, pollMs: 5 });
    byCount.start();
    try {
      await fill(store, 0, 4);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await checkpoints(store)).toEqual([]);
      await fill(store, 4, 8);
      await until(async () => (await checkpoints(store)).length >= 1, 'a checkpoint by count');
    } finally {
      await byCount.stop();
    }

    let now = 0;
    const byTime = new Checkpointer({ store, everyEvents: 0, everyMs: 60_000, pollMs: 5, clock: () => now });
    const before = (await checkpoints(store)).length;
    byTime.start();
    try {
      await fill(store, 12, 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await checkpoints(store)).toHaveLength(before);
      now = 60_000;
      await until(async () => (await checkpoints(store)).length === before + 1, 'a checkpoint by time');
      // Idle: the checkpoint event itself is not a reason for another one.
      now = 600_000;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await checkpoints(store)).toHaveLength(before + 1);
    } finally {
      await byTime.stop();
    }
    expect((await verifyLog(store)).ok).toBe(true);
  });

  it('refuses nonsense settings', () => {
    const store = memoryStore();
    expect(() => new Checkpointer({ store, everyEvents: -1 })).toThrow(/everyEvents must be a whole number \(0: off\), not -1/);
    expect(() => new Checkpointer({ store, pollMs: 0 })).toThrow(/pollMs must be a whole number above 0/);
  });
});

/** A sink held in memory: what was published, in order. */
class MemorySink implements CheckpointSink {
  readonly where = 'memory';
  readonly published: PublishedCheckpoint[] = [];
  async read(): Promise<PublishedCheckpoint[]> {
    return [...this.published];
  }
  async publish(checkpoint: PublishedCheckpoint): Promise<void> {
    this.published.push(checkpoint);
  }
}

describe('Checkpointer and its history', () => {
  it('publishes every checkpoint it records to the sink, and what the sink missed before going on', async () => {
    const store = memoryStore();
    const sink = new MemorySink();
    await fill(store, 0, 4);
    await new Checkpointer({ store, sink }).checkpointNow();
    await fill(store, 4, 3);
    // Recorded without the sink (a crash between the append and the publish looks the same).
    await new Checkpointer({ store }).checkpointNow();
    expect(sink.published.map((p) => p.version)).toEqual([1]);
    await fill(store, 7, 2);
    await new Checkpointer({ store, sink }).checkpointNow();
    expect(sink.published.map((p) => [p.version, p.checkpoint.through])).toEqual([
      [1, '4'],
      [2, '8'],
      [3, '11'],
    ]);
    expect(sink.published.map((p) => p.checkpoint)).toEqual(await checkpoints(store));
  });

  it('refuses to start again from position 0 when the store lost the history the sink holds', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const sink = new MemorySink();
    const original = memoryStore();
    await fill(original, 0, 5);
    await new Checkpointer({ store: original, signingKey: privateKey, sink }).checkpointNow();
    // The same log without its checkpoint stream (what a superuser leaves after deleting it).
    const stripped = memoryStore();
    await fill(stripped, 0, 6);
    const refused = await new Checkpointer({ store: stripped, signingKey: privateKey, sink }).checkpointNow().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CheckpointHistoryLost);
    expect((refused as Error).message).toContain('the store holds no checkpoint, but the sink memory holds version 1');
    expect(await checkpoints(stripped)).toEqual([]);
    expect(sink.published).toHaveLength(1);
  });

  it('when signing, extends only the last signed checkpoint, never an unsigned one after it', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const store = memoryStore();
    await fill(store, 0, 3);
    await new Checkpointer({ store }).checkpointNow();
    await fill(store, 3, 3);
    // An unsigned history may be taken over by a signing checkpointer once.
    expect(await new Checkpointer({ store, signingKey: privateKey }).checkpointNow()).toMatchObject({ appended: true, version: 2 });
    await fill(store, 6, 3);
    // Someone without the key appends an unsigned checkpoint after the signed one.
    expect(await new Checkpointer({ store }).checkpointNow()).toMatchObject({ appended: true, version: 3 });
    await fill(store, 9, 3);
    const refused = await new Checkpointer({ store, signingKey: privateKey }).checkpointNow().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CheckpointHistoryLost);
    expect((refused as Error).message).toContain('its latest checkpoint (version 3) is unsigned while version 2 is signed');
    expect((await checkpoints(store)).length).toBe(3);
  });
});
