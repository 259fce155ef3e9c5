import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CommandIdReused, EventStoreUnavailable, InvalidAppend, StreamVersionConflict } from '../src/errors.ts';
import { GENESIS_HASH, verifyChain } from '../src/hash-chain.ts';
import {
  COMMAND_STREAM_PREFIX,
  EVENT_ID_NAMESPACE,
  commandRecordIdFor,
  commandStreamOf,
  decodeCommandResult,
  encodeCommandResult,
  eventIdFor,
  expectedRevisionFor,
  expectedVersionFromClient,
  fromKurrentRecord,
  globalPositionOf,
  isLedgerRecord,
  kurrentClientErrors,
  revisionToVersion,
  toKurrentEventData,
  translateClientError,
  uuidFromSha1,
  versionToRevision,
  type KurrentRecord,
} from '../src/kurrentdb/kurrentdb-codec.ts';
import { KurrentDbEventStore, openKurrentDbStore, outcomeFromTail } from '../src/kurrentdb/kurrentdb-store.ts';
import { prepareEvents } from '../src/prepare-append.ts';
import type { SchemaRegistry } from '../src/schema-registry.ts';
import type { AppendResult, RecordedEvent } from '../src/types.ts';
import { runEventStoreContract } from './contract-suite.ts';
import { testRegistry } from './fixtures/registry.ts';

const EVENTSTORE_URL = process.env.EVENTSTORE_URL;

if (!EVENTSTORE_URL) {
  console.warn(
    'KurrentDB contract suite SKIPPED: EVENTSTORE_URL is not set. ' +
      'Set it (e.g. EVENTSTORE_URL=esdb://localhost:2113?tls=false) to run the adapter against a real KurrentDB/EventStoreDB server.',
  );
}

describe.skipIf(!EVENTSTORE_URL)('KurrentDB adapter against a real server (EVENTSTORE_URL)', () => {
  runEventStoreContract('kurrentdb', {
    create: (registry, clock) => openKurrentDbStore({ connectionString: EVENTSTORE_URL!, registry, clock }),
  });
});

/** A closed local port: the real client fails to connect at once, no server needed. */
const UNREACHABLE = 'esdb://127.0.0.1:1?tls=false';

describe('KurrentDB adapter without a server: mappings and error translation', () => {
  describe('deterministic ids (uuid v5 from sha1)', () => {
    it('matches RFC 4122 version-5 vectors', () => {
      // uuid.uuid5(uuid.NAMESPACE_DNS, 'www.example.com') and a non-ASCII name (UTF-8), per Python's uuid.
      expect(uuidFromSha1('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
      expect(uuidFromSha1('https://example.com/ü', '6ba7b811-9dad-11d1-80b4-00c04fd430c8')).toBe('a17f7a1d-6bb5-51a9-9d32-f9d2fdeec8b6');
      expect(() => uuidFromSha1('x', 'not-a-uuid')).toThrow(/not a UUID/);
    });

    it('gives every event of a command a stable id, distinct per stream, command and index', () => {
      const id = eventIdFor('site-1', 'cmd-1', 0);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(eventIdFor('site-1', 'cmd-1', 0)).toBe(id);
      const others = [eventIdFor('site-1', 'cmd-1', 1), eventIdFor('site-2', 'cmd-1', 0), eventIdFor('site-1', 'cmd-2', 0), commandRecordIdFor('cmd-1')];
      expect(new Set([id, ...others]).size).toBe(5);
      // No ambiguity from separators inside the parts.
      expect(eventIdFor('a-1', 'b:2', 3)).not.toBe(eventIdFor('a-1:b', '2', 3));
      expect(uuidFromSha1('x')).toBe(uuidFromSha1('x', EVENT_ID_NAMESPACE));
    });
  });

  describe('versions and revisions', () => {
    it('maps our versions (from 1) to KurrentDB revisions (from 0) and back', () => {
      expect(versionToRevision(1)).toBe(0n);
      expect(versionToRevision(42)).toBe(41n);
      expect(() => versionToRevision(0)).toThrow(RangeError);
      expect(revisionToVersion(0n)).toBe(1);
      expect(revisionToVersion(41n)).toBe(42);
      expect(revisionToVersion('no_stream')).toBe(0);
      expect(revisionToVersion(-1n)).toBe(0);
    });

    it('expects exactly the state the events were chained onto', () => {
      expect(expectedRevisionFor(0)).toBe('no_stream');
      expect(expectedRevisionFor(3)).toBe(2n);
    });

    it("tells the server's expectations in our terms", () => {
      expect(expectedVersionFromClient('any')).toBe('any');
      expect(expectedVersionFromClient('no_stream')).toBe('no_stream');
      expect(expectedVersionFromClient('stream_exists')).toBe('exists');
      expect(expectedVersionFromClient(4n)).toBe(5);
      expect(expectedVersionFromClient(-1n)).toBe('no_stream');
      expect(expectedVersionFromClient(-2n)).toBe('any');
      expect(expectedVersionFromClient(-4n)).toBe('exists');
    });
  });

  describe('error translation at the boundary', () => {
    const { WrongExpectedVersionError, UnavailableError, DeadlineExceededError, AccessDeniedError, MaxAppendSizeExceededError } = kurrentClientErrors;

    it('turns WrongExpectedVersionError into StreamVersionConflict, in versions', () => {
      const error = new WrongExpectedVersionError(undefined, { streamName: 'site-1', expected: 0n, current: 2n });
      const withCaller = translateClientError(error, { expected: 1 });
      expect(withCaller).toBeInstanceOf(StreamVersionConflict);
      expect(withCaller).toMatchObject({ code: 'STREAM_VERSION_CONFLICT', streamId: 'site-1', expected: 1, actual: 3 });
      // Without the caller's expectation: what was sent to the server, in versions.
      expect(translateClientError(error)).toMatchObject({ streamId: 'site-1', expected: 1, actual: 3 });
      const missing = new WrongExpectedVersionError(undefined, { streamName: 'site-2', expected: 'stream_exists', current: 'no_stream' });
      expect(translateClientError(missing)).toMatchObject({ streamId: 'site-2', expected: 'exists', actual: 0 });
    });

    it('turns connection and server failures into EventStoreUnavailable', () => {
      for (const error of [new UnavailableError(), new DeadlineExceededError(), new AccessDeniedError()]) {
        const translated = translateClientError(error);
        expect(translated).toBeInstanceOf(EventStoreUnavailable);
        expect(translated).toMatchObject({ code: 'EVENT_STORE_UNAVAILABLE', details: { clientError: error.type } });
      }
      expect((translateClientError(new AccessDeniedError()) as Error).message).toMatch(/credentials/);
      // A raw gRPC status error (as the client throws from its capabilities call) and a failed discovery.
      const raw = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
        code: 14,
        details: 'No connection established',
        metadata: { getMap: () => ({}) },
      });
      expect(translateClientError(raw)).toBeInstanceOf(EventStoreUnavailable);
      expect(translateClientError(new Error('Failed to discover after 10 attempts.'))).toBeInstanceOf(EventStoreUnavailable);
    });

    it('reports an append too large for the server as InvalidAppend', () => {
      expect(translateClientError(new MaxAppendSizeExceededError(undefined, 1_048_576))).toMatchObject({
        code: 'INVALID_APPEND',
        message: expect.stringContaining('1048576'),
      });
    });

    it('passes our own errors and programming errors through unchanged', () => {
      const ours = new CommandIdReused('c', 'a-1', 'b-1');
      expect(translateClientError(ours)).toBe(ours);
      // Numeric code without gRPC details: not a client error, and the translation must not crash on it.
      const odd = Object.assign(new Error('odd'), { code: 3 });
      expect(translateClientError(odd)).toBe(odd);
      const bug = new TypeError('x is undefined');
      expect(translateClientError(bug)).toBe(bug);
      expect(translateClientError('weird')).toBe('weird');
    });
  });

  describe('envelope <-> KurrentDB event', () => {
    const registry = testRegistry();
    const streamId = 'test-map-1';
    const prepared = prepareEvents(
      registry,
      streamId,
      [
        { type: 'Counted', data: { n: 1, amountWh: '0.000000000000000000001' }, occurredAt: '2026-01-01T00:00:00.000Z' },
        { type: 'Renamed', schemaVersion: 1, data: { name: 'Depot A' } },
      ],
      { expectedVersion: 'no_stream', commandId: 'cmd-map', actor: 'test', correlationId: 'corr-1' },
      { version: 0, lastHash: GENESIS_HASH },
      '2026-11-27T10:00:00.000Z',
    );
    // What the server hands back for what the client wrote: JSON text parsed again, revision, position.
    const asRecorded = (i: number, commit: bigint): KurrentRecord => {
      const data = toKurrentEventData(streamId, prepared[i]!, i);
      expect(data.contentType).toBe('application/json');
      return {
        streamId,
        revision: BigInt(i),
        type: data.type,
        isJson: true,
        data: JSON.parse(JSON.stringify(data.data)),
        metadata: JSON.parse(JSON.stringify(data.metadata)),
        position: { commit, prepare: commit },
      };
    };

    it('writes a JSON event with a deterministic id, our metadata, schema version, version and hash', () => {
      const data = toKurrentEventData(streamId, prepared[0]!, 0);
      expect(data).toMatchObject({
        id: eventIdFor(streamId, 'cmd-map', 0),
        type: 'Counted',
        data: { n: 1, amountWh: '0.000000000000000000001' },
        metadata: {
          ledgerFormat: 1,
          commandId: 'cmd-map',
          correlationId: 'corr-1',
          causationId: 'cmd-map',
          actor: 'test',
          occurredAt: '2026-01-01T00:00:00.000Z',
          recordedAt: '2026-11-27T10:00:00.000Z',
          schemaVersion: 1,
          streamVersion: 1,
          hash: prepared[0]!.hash,
        },
      });
    });

    it('reads back the same envelope, at version revision + 1 and the commit position, with an intact chain', () => {
      const recorded = [fromKurrentRecord(asRecorded(0, 5_000n)), fromKurrentRecord(asRecorded(1, 5_300n))];
      expect(recorded[0]).toEqual({
        streamId,
        streamVersion: 1,
        globalPosition: 5_000n,
        type: 'Counted',
        schemaVersion: 1,
        data: { n: 1, amountWh: '0.000000000000000000001' },
        metadata: prepared[0]!.metadata,
        hash: prepared[0]!.hash,
      });
      expect(recorded[1]).toMatchObject({ streamVersion: 2, globalPosition: 5_300n, schemaVersion: 1 });
      expect(verifyChain(streamId, recorded).ok).toBe(true);
      // Upcasting happens on top of the stored form.
      expect(registry.upcast(recorded[1]!)).toMatchObject({ schemaVersion: 2, stored: { schemaVersion: 1 } });
    });

    it('refuses events the ledger did not write or that contradict their place', () => {
      const good = asRecorded(0, 5_000n);
      const refused = (record: KurrentRecord) => expect(() => fromKurrentRecord(record)).toThrow(EventStoreUnavailable);
      refused({ ...good, isJson: false });
      refused({ ...good, metadata: undefined });
      refused({ ...good, metadata: new Uint8Array([1, 2]) });
      refused({ ...good, metadata: { ...(good.metadata as object), ledgerFormat: undefined } });
      refused({ ...good, metadata: { ...(good.metadata as object), hash: 'nope' } });
      refused({ ...good, metadata: { ...(good.metadata as object), actor: 7 } });
      // Stored as version 1 but found at revision 3: the stream was altered.
      expect(() => fromKurrentRecord({ ...good, revision: 3n })).toThrow(/version 1 but sits at version 4/);
    });

    it('takes the commit position, falling back to the resolved one, and refuses a missing one', () => {
      const at = { streamId, revision: 0n };
      expect(globalPositionOf({ ...at, position: { commit: 77n, prepare: 77n } })).toBe(77n);
      // Old servers: no position on stream reads (0 or 2^64-1).
      expect(globalPositionOf({ ...at, position: { commit: 2n ** 64n - 1n, prepare: 0n } }, 90n)).toBe(90n);
      expect(() => globalPositionOf({ ...at, position: { commit: 0n, prepare: 0n } })).toThrow(/no log position/);
      expect(() => globalPositionOf(at)).toThrow(EventStoreUnavailable);
    });

    it('keeps only ledger streams in the global log', () => {
      expect(isLedgerRecord('session-42', 'SessionStarted')).toBe(true);
      expect(isLedgerRecord('market-NL-2026-11-27T10:00Z', 'OrderAccepted')).toBe(true);
      expect(isLedgerRecord('$stats-127.0.0.1:2113', '$statsCollected')).toBe(false);
      expect(isLedgerRecord('$$session-42', '$metadata')).toBe(false);
      expect(isLedgerRecord('$ce-session', '$>')).toBe(false);
      expect(isLedgerRecord(commandStreamOf('abc'), 'CommandRecorded')).toBe(false);
      expect(isLedgerRecord('session-42', '$>')).toBe(false);
      expect(commandStreamOf('abc')).toBe(`${COMMAND_STREAM_PREFIX}abc`);
    });
  });

  describe('command records', () => {
    const result: AppendResult = {
      streamId: 'site-9',
      commandId: 'cmd-9',
      nextExpectedVersion: 7,
      firstVersion: 6,
      firstPosition: 9_007_199_254_740_993n,
      lastPosition: 9_007_199_254_741_400n,
      duplicate: false,
    };

    it('round-trips an outcome, positions beyond 2^53 included, as a duplicate', () => {
      const stored = JSON.parse(JSON.stringify(encodeCommandResult(result)));
      expect(decodeCommandResult(stored)).toEqual({ ...result, duplicate: true });
      const empty = { ...result, firstVersion: null, firstPosition: null, lastPosition: null, nextExpectedVersion: 0 };
      expect(decodeCommandResult(JSON.parse(JSON.stringify(encodeCommandResult(empty))))).toEqual({ ...empty, duplicate: true });
      expect(() => decodeCommandResult({ ...stored, firstPosition: 12 })).toThrow(EventStoreUnavailable);
      expect(() => decodeCommandResult(null)).toThrow(EventStoreUnavailable);
    });

    it('recognises the events of an unrecorded earlier attempt in the stream tail', () => {
      const event = (streamVersion: number, commandId: string, globalPosition: bigint): RecordedEvent => ({
        streamId: 'site-9',
        streamVersion,
        globalPosition,
        type: 'Counted',
        schemaVersion: 1,
        data: {},
        metadata: { commandId, correlationId: commandId, causationId: commandId, actor: 't', occurredAt: 'x', recordedAt: 'x' },
        hash: GENESIS_HASH,
      });
      // Newest first: version 8 by someone else, 6..7 by cmd-9, 5 by another command.
      const tail = [event(8, 'other', 1_500n), event(7, 'cmd-9', 1_400n), event(6, 'cmd-9', 1_300n), event(5, 'older', 1_200n)];
      expect(outcomeFromTail('site-9', 'cmd-9', tail)).toEqual({
        streamId: 'site-9',
        commandId: 'cmd-9',
        nextExpectedVersion: 7,
        firstVersion: 6,
        firstPosition: 1_300n,
        lastPosition: 1_400n,
        duplicate: true,
      });
      expect(outcomeFromTail('site-9', 'cmd-x', tail)).toBeNull();
    });
  });

  describe('the real client, with nothing listening', () => {
    it('fails to open with EventStoreUnavailable, quickly', async () => {
      const started = Date.now();
      const error = await openKurrentDbStore({ connectionString: UNREACHABLE, registry: testRegistry() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailable);
      expect((error as Error).message).toMatch(/KurrentDB unavailable/);
      expect(Date.now() - started).toBeLessThan(6_000);
    });

    it('refuses a malformed connection string without echoing it', async () => {
      const error = await openKurrentDbStore({ connectionString: 'https://user:s3cret@host', registry: testRegistry() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreUnavailable);
      expect((error as Error).message).toMatch(/invalid KurrentDB connection string/);
      expect((error as Error).message).not.toContain('s3cret');
    });

    it('validates an append before any I/O, and translates every failed call', async () => {
      const store = await openKurrentDbStore({ connectionString: UNREACHABLE, registry: testRegistry(), verify: false });
      try {
        const opts = { expectedVersion: 'any' as const, commandId: 'cmd-1', actor: 'test' };
        // Bad input is refused as such, not as an unreachable server: nothing was sent.
        await expect(store.append('nodash', [{ type: 'Counted', data: { n: 1, amountWh: '1' } }], opts)).rejects.toBeInstanceOf(InvalidAppend);
        await expect(store.append('test-1', [{ type: 'Counted', data: { n: 1 } }], opts)).rejects.toMatchObject({
          code: 'EVENT_SCHEMA_VIOLATION',
        });
        // Good input reaches the client, whose failures arrive as ours.
        await expect(store.append('test-1', [{ type: 'Counted', data: { n: 1, amountWh: '1' } }], opts)).rejects.toBeInstanceOf(EventStoreUnavailable);
        await expect(store.readStream('test-1')).rejects.toBeInstanceOf(EventStoreUnavailable);
        await expect(store.readAll()).rejects.toBeInstanceOf(EventStoreUnavailable);
        await expect(store.commandResult('cmd-1')).rejects.toBeInstanceOf(EventStoreUnavailable);
        await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailable);
        await expect(store.ping()).rejects.toBeInstanceOf(EventStoreUnavailable);
        const subscription = store.subscribe({ category: 'test' })[Symbol.asyncIterator]();
        await expect(subscription.next()).rejects.toBeInstanceOf(EventStoreUnavailable);
      } finally {
        await store.close();
      }
      await expect(store.readStream('test-1')).rejects.toThrow(/closed/);
    });

    it('ends a subscription when its signal aborts, even while the server never answers', async () => {
      const store = await openKurrentDbStore({ connectionString: UNREACHABLE, registry: testRegistry(), verify: false });
      try {
        const controller = new AbortController();
        controller.abort();
        const seen: RecordedEvent[] = [];
        for await (const event of store.subscribe({ signal: controller.signal })) seen.push(event);
        expect(seen).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// An in-process stand-in for the gRPC client, with the server semantics the adapter relies on:
// revisions from 0, byte-offset log positions (sparse), system streams interleaved in $all,
// exact-revision checks with KurrentDB's idempotent re-append, StreamNotFound on reads, inclusive
// forward / exclusive backward $all reads, exclusive subscriptions with stream-name filters.
// It checks the adapter's own logic (retry loop, recovery, paging, filtering) without a server;
// it proves nothing about the real server: that is what the EVENTSTORE_URL suite is for.
// ---------------------------------------------------------------------------------------------

type FakeRecord = {
  streamId: string;
  id: string;
  isJson: true;
  revision: bigint;
  type: string;
  created: Date;
  data: unknown;
  metadata: unknown;
  position: { commit: bigint; prepare: bigint };
};
type FakeEventData = { id: string; type: string; data: unknown; metadata?: unknown };

class FakeKurrentClient {
  readonly log: FakeRecord[] = [];
  private readonly streams = new Map<string, FakeRecord[]>();
  private readonly waiters = new Set<() => void>();
  private nextPosition = 1_000n;
  /** Fault injection: commit the next N appends to matching streams, then lose the answer. */
  loseAcks: { match: (stream: string) => boolean; count: number; commit: boolean } | null = null;

  constructor(private readonly positionStep: (record: FakeRecord) => bigint) {}

  async appendToStream(streamName: string, events: FakeEventData | FakeEventData[], options: { expectedRevision: 'no_stream' | bigint }) {
    const batch = Array.isArray(events) ? events : [events];
    const stream = this.streams.get(streamName) ?? [];
    const current = stream.length === 0 ? 'no_stream' : BigInt(stream.length - 1);
    const expected = options.expectedRevision === 'no_stream' ? -1n : options.expectedRevision;
    const fault = this.loseAcks && this.loseAcks.match(streamName) && this.loseAcks.count > 0 ? this.loseAcks : null;
    if (fault) fault.count -= 1;
    if (fault && !fault.commit) throw new kurrentClientErrors.UnavailableError();
    if (expected < BigInt(stream.length - 1)) {
      // KurrentDB's idempotency: the same ids already sit right after the expected revision.
      const same = batch.every((e, i) => stream[Number(expected) + 1 + i]?.id === e.id);
      if (same) return { success: true, nextExpectedRevision: expected + BigInt(batch.length) };
    }
    if (expected !== BigInt(stream.length - 1)) {
      throw new kurrentClientErrors.WrongExpectedVersionError(undefined, {
        streamName,
        expected: options.expectedRevision,
        current,
      });
    }
    for (const e of batch) this.write(streamName, stream, e);
    this.streams.set(streamName, stream);
    // A system stream writes now and then, as KurrentDB's own $stats do.
    if (this.log.length % 7 === 0) this.write('$stats-127.0.0.1:2113', this.streams.get('$stats') ?? [], { id: randomUUID(), type: '$statsCollected', data: {} });
    this.waiters.forEach((wake) => wake());
    if (fault) throw new kurrentClientErrors.UnavailableError();
    return { success: true, nextExpectedRevision: BigInt(stream.length - 1) };
  }

  private write(streamId: string, stream: FakeRecord[], e: FakeEventData): void {
    const record: FakeRecord = {
      streamId,
      id: e.id,
      isJson: true,
      revision: BigInt(stream.length),
      type: e.type,
      created: new Date(),
      data: JSON.parse(JSON.stringify(e.data)),
      metadata: e.metadata === undefined ? undefined : JSON.parse(JSON.stringify(e.metadata)),
      position: { commit: this.nextPosition, prepare: this.nextPosition },
    };
    this.nextPosition += this.positionStep(record);
    stream.push(record);
    this.log.push(record);
    if (streamId.startsWith('$stats')) this.streams.set('$stats', stream);
  }

  readStream(streamName: string, options: { direction: 'forwards' | 'backwards'; fromRevision: 'start' | 'end' | bigint; maxCount: number }) {
    const stream = this.streams.get(streamName);
    return reading(
      async () => {
        if (!stream || stream.length === 0) throw new kurrentClientErrors.StreamNotFoundError(undefined, streamName);
        if (options.direction === 'forwards') {
          const from = options.fromRevision === 'start' ? 0 : options.fromRevision === 'end' ? stream.length : Number(options.fromRevision);
          return stream.slice(from, from + options.maxCount);
        }
        // Backwards over [from - maxCount + 1, from], not clamped to the end (as the server does).
        const from = options.fromRevision === 'end' ? stream.length - 1 : options.fromRevision === 'start' ? 0 : Number(options.fromRevision);
        const low = Math.max(0, from - options.maxCount + 1);
        return stream.slice(low, from + 1).reverse();
      },
      (r) => ({ event: r, commitPosition: r.position.commit }),
    );
  }

  readAll(options: { direction?: 'forwards' | 'backwards'; fromPosition?: 'start' | 'end' | { commit: bigint }; maxCount?: number }) {
    return reading(
      async () => {
        const from = options.fromPosition ?? 'start';
        const max = options.maxCount ?? Number.MAX_SAFE_INTEGER;
        if (typeof from === 'object' && !this.log.some((r) => r.position.commit === from.commit) && from.commit !== 0n) {
          // The real server cannot start inside a record either.
          throw new Error(`fake: ${from.commit} is not a record boundary`);
        }
        if (options.direction === 'backwards') {
          const before = from === 'end' ? this.log : from === 'start' ? [] : this.log.filter((r) => r.position.commit < from.commit);
          return before.slice(-max).reverse();
        }
        const after = from === 'start' ? this.log : from === 'end' ? [] : this.log.filter((r) => r.position.commit >= from.commit);
        return after.slice(0, max);
      },
      (r) => ({ event: r, commitPosition: r.position.commit }),
    );
  }

  subscribeToAll(options: { fromPosition: 'start' | { commit: bigint }; filter: { regex?: string; prefixes?: string[] } }) {
    let cursor = options.fromPosition === 'start' ? -1n : options.fromPosition.commit;
    const { regex, prefixes } = options.filter;
    const matches = (r: FakeRecord) => (regex !== undefined ? new RegExp(regex).test(r.streamId) : (prefixes ?? []).some((p) => r.streamId.startsWith(p)));
    let closed = false;
    let wake: (() => void) | undefined;
    const stop = () => {
      closed = true;
      wake?.();
    };
    const next = async (): Promise<IteratorResult<{ event: FakeRecord }>> => {
      for (;;) {
        if (closed) return { done: true, value: undefined };
        const found = this.log.find((r) => r.position.commit > cursor && matches(r));
        if (found) {
          cursor = found.position.commit;
          return { done: false, value: { event: found } };
        }
        await new Promise<void>((resolve) => {
          wake = () => {
            this.waiters.delete(resolve);
            resolve();
          };
          this.waiters.add(wake);
        });
      }
    };
    return {
      [Symbol.asyncIterator]: () => ({ next, return: async () => (stop(), { done: true as const, value: undefined }) }),
      unsubscribe: async () => stop(),
      destroy: stop,
    };
  }

  async dispose(): Promise<void> {
    this.waiters.forEach((wake) => wake());
  }
}

/** A client read: an async iterable that fails when iterated (as the real ReadStream does), with cancel(). */
function reading<T, R>(produce: () => Promise<T[]>, map: (item: T) => R) {
  return {
    async *[Symbol.asyncIterator]() {
      for (const item of await produce()) yield map(item);
    },
    cancel: async () => undefined,
  };
}

const overFake = (client: FakeKurrentClient, registry: SchemaRegistry, clock?: () => Date) => new KurrentDbEventStore(client as never, { registry, clock });

describe('KurrentDB adapter logic over an in-process fake client (no server)', () => {
  // Dense positions here only because the contract suite assumes them (see the sparse test below).
  runEventStoreContract('kurrentdb adapter over a fake client', {
    create: async (registry, clock) => overFake(new FakeKurrentClient(() => 1n), registry, clock),
  });

  const counted = (n: number) => ({ type: 'Counted', data: { n, amountWh: `${n}` } });
  const opts = (expectedVersion: 'any' | 'no_stream' | number, commandId: string = randomUUID()) => ({
    expectedVersion,
    commandId,
    actor: 'test',
  });

  it('works with sparse, byte-offset positions: strictly growing, checkpoints taken from events', async () => {
    const client = new FakeKurrentClient((r) => 97n + BigInt(JSON.stringify(r.data).length));
    const store = overFake(client, testRegistry());
    const head = await store.headPosition();
    const result = await store.append('test-sparse', [counted(1), counted(2), counted(3)], opts('no_stream'));
    expect(result.lastPosition! - result.firstPosition!).toBeGreaterThan(2n);
    const events = await store.readStream('test-sparse');
    expect(events.map((e) => e.globalPosition)).toEqual([result.firstPosition, events[1]!.globalPosition, result.lastPosition]);
    const all = await store.readAll({ after: head });
    expect(all.map((e) => e.streamVersion)).toEqual([1, 2, 3]);
    expect(await store.readAll({ after: events[0]!.globalPosition })).toHaveLength(2);
    expect(await store.headPosition()).toBe(result.lastPosition);
    // A position inside a record is no checkpoint on KurrentDB.
    await expect(store.readAll({ after: events[1]!.globalPosition - 1n })).rejects.toThrow();
  });

  it('resends a write whose answer was lost; KurrentDB keeps one copy', async () => {
    const client = new FakeKurrentClient(() => 10n);
    const store = overFake(client, testRegistry());
    client.loseAcks = { match: (s) => s === 'test-lost', count: 1, commit: true };
    const result = await store.append('test-lost', [counted(1), counted(2)], opts('no_stream'));
    expect(result).toMatchObject({ firstVersion: 1, nextExpectedVersion: 2, duplicate: false });
    expect((await store.readStream('test-lost')).map((e) => e.streamVersion)).toEqual([1, 2]);
  });

  it('completes a command whose events were written but whose outcome was not recorded', async () => {
    const client = new FakeKurrentClient(() => 10n);
    const store = overFake(client, testRegistry());
    const commandId = randomUUID();
    // The command record cannot be written: the append fails after its events are in.
    client.loseAcks = { match: (s) => s.startsWith('_command-'), count: 3, commit: false };
    await expect(store.append('test-crash', [counted(1), counted(2)], opts('no_stream', commandId))).rejects.toBeInstanceOf(EventStoreUnavailable);
    expect(await store.commandResult(commandId)).toBeNull();
    // Another command appends meanwhile; the retry still finds its own events in the tail.
    await store.append('test-crash', [counted(3)], opts(2));
    const retry = await store.append('test-crash', [counted(1), counted(2)], opts('no_stream', commandId));
    expect(retry).toMatchObject({ firstVersion: 1, nextExpectedVersion: 2, duplicate: true });
    expect(await store.streamVersion('test-crash')).toBe(3);
    expect(await store.commandResult(commandId)).toEqual(retry);
  });

  it("retries 'any' appends that lose a race, and never forks the chain", async () => {
    const client = new FakeKurrentClient(() => 10n);
    const store = overFake(client, testRegistry());
    await Promise.all(Array.from({ length: 4 }, (_, i) => store.append('test-race', [counted(i)], opts('any'))));
    const events = await store.readStream('test-race');
    expect(events).toHaveLength(4);
    expect(verifyChain('test-race', events).ok).toBe(true);
    const conflict = await store.append('test-race', [counted(9)], opts(1)).catch((e: unknown) => e);
    expect(conflict).toMatchObject({ code: 'STREAM_VERSION_CONFLICT', expected: 1, actual: 4 });
  });
});
