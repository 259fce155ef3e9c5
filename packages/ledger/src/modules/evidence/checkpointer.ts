import { createPublicKey, type KeyObject } from 'node:crypto';
import { StreamVersionConflict, type EventStore, sleep } from '@v2g/event-store';
import type { Logger } from 'pino';
import {
  CHECKPOINT_ACTOR,
  CHECKPOINT_EVENT_TYPE,
  CHECKPOINT_STREAM,
  checkSignature,
  keyIdOf,
  parseCheckpoint,
  signCheckpoint,
  type LogCheckpointedData,
  type UnsignedCheckpoint,
} from './checkpoint.ts';
import { sameCheckpoint, type CheckpointSink } from './checkpoint-sink.ts';
import { LogDigest } from './log-digest.ts';
import { MERKLE_ALGORITHM } from './merkle.ts';

export type CheckpointerOptions = {
  store: EventStore;
  /** Signs every checkpoint (Ed25519) when given; then a checkpoint only extends the last signed one. */
  signingKey?: KeyObject | null;
  /**
   * Where every checkpoint is published as it is recorded (outside the database). The store's
   * checkpoint history is only extended while it still holds the last published checkpoint;
   * checkpoints the sink misses (a crash after the append) are published first.
   */
  sink?: CheckpointSink | null;
  /** When running: checkpoint once this many events came after the last checkpoint (0: not by count). Default 10,000. */
  everyEvents?: number;
  /** When running: checkpoint once this long has passed since the last one and events came (0: not by time). Default 10 min. */
  everyMs?: number;
  /** When running: how often the new events are read (default 1 s). */
  pollMs?: number;
  /** Events per read (default 5,000). */
  pageSize?: number;
  logger?: Logger;
  /** Milliseconds now, for everyMs (default Date.now). */
  clock?: () => number;
  /** After each read while catching up: the position reached and the head it reads to. */
  onProgress?: (progress: { done: bigint; total: bigint }) => void;
};

/** A checkpoint as recorded in the checkpoint stream. */
export type RecordedCheckpoint = { version: number; position: bigint; checkpoint: LogCheckpointedData };

export type CheckpointOutcome =
  ({ appended: true; duplicate: boolean } & RecordedCheckpoint) | { appended: false; reason: 'empty-log' | 'up-to-date'; latest: RecordedCheckpoint | null };

/**
 * The store's checkpoint history lost what was published or signed: it was removed, shortened or
 * rewritten. Nothing is checkpointed until it is restored (run ledger verify).
 */
export class CheckpointHistoryLost extends Error {
  constructor(reason: string) {
    super(`${CHECKPOINT_STREAM} cannot be extended: ${reason}; nothing is checkpointed until it is restored (run ledger verify)`);
    this.name = 'CheckpointHistoryLost';
  }
}

/** The latest checkpoint cannot be continued from: its data is malformed or does not add up. */
export class CheckpointChainBroken extends Error {
  constructor(
    readonly version: number,
    reason: string,
  ) {
    super(`${CHECKPOINT_STREAM} version ${version} cannot be continued from: ${reason} (run ledger verify)`);
    this.name = 'CheckpointChainBroken';
  }
}

type State = {
  /** The log up to the last event read. */
  digest: LogDigest;
  latest: (RecordedCheckpoint & { recordedAtMs: number }) | null;
  /** recordedAt of the last event read: a checkpoint's occurredAt, so that it too follows from the log. */
  lastRecordedAt: string | null;
  /** Events read that come after the latest checkpoint event. */
  pending: number;
};

const MAX_ATTEMPTS = 3;
const MAX_BACKOFF_MS = 60_000;

/**
 * Appends `LogCheckpointed` events to `checkpoint-log` (see checkpoint.ts): on demand
 * (`checkpointNow`, the `ledger checkpoint` command) or, once started, every `everyEvents` events or
 * `everyMs` milliseconds, whichever comes first, and only when events came since the last one.
 *
 * Each checkpoint goes on from the previous one's frontier, reading only the events after it, and
 * covers the log up to the last event it read, which is at or after the previous checkpoint event:
 * so a checkpoint's data follows from the log up to its `through` alone. Its commandId is
 * `checkpoint-log@<through>` and it expects the checkpoint stream's version: two checkpointers (the
 * server and the CLI) never fork the chain; the loser starts again from the winner's checkpoint.
 */
export class Checkpointer {
  private readonly store: EventStore;
  private readonly signingKey: KeyObject | null;
  private readonly publicKey: KeyObject | null;
  private readonly sink: CheckpointSink | null;
  private readonly everyEvents: number;
  private readonly everyMs: number;
  private readonly pollMs: number;
  private readonly pageSize: number;
  private readonly clock: () => number;
  private state: State | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private startedAtMs = 0;

  constructor(private readonly options: CheckpointerOptions) {
    this.store = options.store;
    this.signingKey = options.signingKey ?? null;
    this.publicKey = this.signingKey ? createPublicKey(this.signingKey) : null;
    this.sink = options.sink ?? null;
    this.everyEvents = options.everyEvents ?? 10_000;
    this.everyMs = options.everyMs ?? 600_000;
    this.pollMs = options.pollMs ?? 1000;
    this.pageSize = options.pageSize ?? 5000;
    this.clock = options.clock ?? Date.now;
    for (const [name, value] of [
      ['everyEvents', this.everyEvents],
      ['everyMs', this.everyMs],
      ['pollMs', this.pollMs],
      ['pageSize', this.pageSize],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0 || (value === 0 && (name === 'pollMs' || name === 'pageSize'))) {
        throw new RangeError(`Checkpointer: ${name} must be a whole number${name === 'pollMs' || name === 'pageSize' ? ' above 0' : ' (0: off)'}, not ${value}`);
      }
    }
  }

  /** Appends a checkpoint through the log's head now, unless nothing came after the last one. */
  checkpointNow(): Promise<CheckpointOutcome> {
    return this.exclusive(async () => {
      for (let attempt = 1; ; attempt++) {
        const state = await this.caughtUp();
        if (state.digest.count === 0) return { appended: false, reason: 'empty-log', latest: null };
        await this.guard(state);
        if (state.latest && state.pending === 0) return { appended: false, reason: 'up-to-date', latest: withoutTime(state.latest) };
        try {
          return await this.append(state);
        } catch (error) {
          // Another checkpointer got there first: go on from its checkpoint.
          if (!(error instanceof StreamVersionConflict) || attempt >= MAX_ATTEMPTS) throw error;
        }
      }
    });
  }

  /** The latest recorded checkpoint, or null. */
  async latest(): Promise<RecordedCheckpoint | null> {
    const [event] = await this.store.readStream(CHECKPOINT_STREAM, { direction: 'backwards', limit: 1 });
    if (!event) return null;
    const parsed = parseCheckpoint(event.data);
    if (!parsed.ok) throw new CheckpointChainBroken(event.streamVersion, parsed.reason);
    return { version: event.streamVersion, position: event.globalPosition, checkpoint: parsed.checkpoint };
  }

  /** Checkpoints in the background until stop(); off when both everyEvents and everyMs are 0. */
  start(): void {
    if (this.loop || this.stopping.signal.aborted || (this.everyEvents === 0 && this.everyMs === 0)) return;
    this.startedAtMs = this.clock();
    this.loop = this.run();
  }

  /** Stops the background loop after the read or append in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const log = this.options.logger;
    log?.info({ everyEvents: this.everyEvents, everyMs: this.everyMs, signed: this.signingKey !== null }, 'checkpointer started');
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        await this.exclusive(() => this.tick());
        failures = 0;
      } catch (error) {
        failures += 1;
        this.state = undefined;
        if (!this.stopping.signal.aborted) log?.error({ err: error, failures }, 'checkpoint failed; trying again');
      }
      const wait = failures === 0 ? this.pollMs : Math.min(MAX_BACKOFF_MS, this.pollMs * 2 ** failures);
      await sleep(wait, this.stopping.signal);
    }
    log?.info('checkpointer stopped');
  }

  private async tick(): Promise<void> {
    const state = await this.caughtUp();
    if (state.pending === 0 || this.stopping.signal.aborted) return;
    const sinceMs = this.clock() - (state.latest?.recordedAtMs ?? this.startedAtMs);
    const due = (this.everyEvents > 0 && state.pending >= this.everyEvents) || (this.everyMs > 0 && sinceMs >= this.everyMs);
    if (!due) return;
    await this.guard(state);
    try {
      const outcome = await this.append(state);
      this.options.logger?.info(
        {
          through: outcome.checkpoint.through,
          count: outcome.checkpoint.count,
          merkleRoot: outcome.checkpoint.merkleRoot,
          version: outcome.version,
          signed: outcome.checkpoint.signature !== undefined,
        },
        'log checkpointed',
      );
    } catch (error) {
      // Someone else checkpointed: the next tick goes on from theirs.
      if (!(error instanceof StreamVersionConflict)) throw error;
    }
  }

  /** Reads what came since the last read (or since the latest checkpoint, after a restart). */
  private async caughtUp(): Promise<State> {
    this.state ??= await this.sync();
    const state = this.state;
    const head = await this.store.headPosition();
    while (state.digest.through < head) {
      const page = await this.store.readAll({ after: state.digest.through, limit: this.pageSize });
      for (const event of page) {
        state.digest.add(event);
        state.lastRecordedAt = event.metadata.recordedAt;
        if (!state.latest || event.globalPosition > state.latest.position) state.pending += 1;
      }
      this.options.onProgress?.({ done: state.digest.through, total: head });
      if (page.length < this.pageSize) break;
    }
    return state;
  }

  private async sync(): Promise<State> {
    const [event] = await this.store.readStream(CHECKPOINT_STREAM, { direction: 'backwards', limit: 1 });
    if (!event) return { digest: LogDigest.empty(), latest: null, lastRecordedAt: null, pending: 0 };
    const parsed = parseCheckpoint(event.data);
    if (!parsed.ok) throw new CheckpointChainBroken(event.streamVersion, parsed.reason);
    let digest: LogDigest;
    try {
      digest = LogDigest.resume(parsed.checkpoint);
    } catch (error) {
      throw new CheckpointChainBroken(event.streamVersion, error instanceof Error ? error.message : String(error));
    }
    return {
      digest,
      latest: {
        version: event.streamVersion,
        position: event.globalPosition,
        checkpoint: parsed.checkpoint,
        // When it was recorded, unless that is ahead of our clock (skew, or a clock of the tests').
        recordedAtMs: Math.min(Date.parse(event.metadata.recordedAt), this.clock()),
      },
      lastRecordedAt: null,
      pending: 0,
    };
  }

  private async append(state: State): Promise<{ appended: true; duplicate: boolean } & RecordedCheckpoint> {
    const snapshot = state.digest.snapshot();
    const unsigned: UnsignedCheckpoint = {
      algorithm: MERKLE_ALGORITHM,
      through: snapshot.through.toString(),
      count: String(snapshot.count),
      streams: String(snapshot.streams),
      merkleRoot: snapshot.merkleRoot,
      frontier: snapshot.frontier,
      previousThrough: state.latest?.checkpoint.through ?? null,
      previousRoot: state.latest?.checkpoint.merkleRoot ?? null,
    };
    const checkpoint: LogCheckpointedData = this.signingKey ? signCheckpoint(unsigned, this.signingKey) : unsigned;
    let result;
    try {
      result = await this.store.append(
        CHECKPOINT_STREAM,
        [{ type: CHECKPOINT_EVENT_TYPE, data: checkpoint, ...(state.lastRecordedAt ? { occurredAt: state.lastRecordedAt } : {}) }],
        { expectedVersion: state.latest?.version ?? 'no_stream', commandId: `${CHECKPOINT_STREAM}@${unsigned.through}`, actor: CHECKPOINT_ACTOR },
      );
    } catch (error) {
      this.state = undefined;
      throw error;
    }
    const recorded = { version: result.nextExpectedVersion, position: result.lastPosition!, checkpoint };
    // Published once recorded (a crash in between: the next guard publishes it).
    if (!result.duplicate) await this.sink?.publish(recorded);
    if (result.duplicate) {
      // Another checkpointer recorded this very prefix first: read its checkpoint on the next round.
      this.state = undefined;
    } else {
      state.latest = { ...recorded, recordedAtMs: this.clock() };
      state.pending = 0;
    }
    return { appended: true, duplicate: result.duplicate, ...recorded };
  }

  /**
   * Before a checkpoint goes on from `state.latest`: the store must still hold the last checkpoint
   * published to the sink (same version, position and data), and, when signing, the latest
   * checkpoint must be signed with this key unless none ever was. Publishes what the sink misses.
   */
  private async guard(state: State): Promise<void> {
    const latest = state.latest;
    if (this.sink) {
      const last = (await this.sink.read()).at(-1);
      if (last) {
        const where = `the sink ${this.sink.where} holds version ${last.version} (position ${last.position}, through ${last.checkpoint.through})`;
        if (!latest) throw new CheckpointHistoryLost(`the store holds no checkpoint, but ${where}: the checkpoint history was removed`);
        if (latest.version < last.version) {
          throw new CheckpointHistoryLost(`the store's latest checkpoint is version ${latest.version}, but ${where}: the checkpoint history was shortened`);
        }
        const [stored] = await this.store.readStream(CHECKPOINT_STREAM, { fromVersion: last.version, limit: 1 });
        const parsed = stored && stored.streamVersion === last.version ? parseCheckpoint(stored.stored?.data ?? stored.data) : null;
        if (!stored || !parsed?.ok || stored.globalPosition !== last.position || !sameCheckpoint(parsed.checkpoint, last.checkpoint)) {
          throw new CheckpointHistoryLost(`the store's checkpoint version ${last.version} is not the one published (${where}): the checkpoint history was rewritten`);
        }
      }
      if (latest && (last?.version ?? 0) < latest.version) {
        for (const event of await this.store.readStream(CHECKPOINT_STREAM, { fromVersion: (last?.version ?? 0) + 1 })) {
          const parsed = parseCheckpoint(event.stored?.data ?? event.data);
          if (!parsed.ok) throw new CheckpointChainBroken(event.streamVersion, parsed.reason);
          await this.sink.publish({ version: event.streamVersion, position: event.globalPosition, checkpoint: parsed.checkpoint });
        }
      }
    }
    if (this.publicKey && latest) {
      const check = checkSignature(latest.checkpoint, this.publicKey);
      const ours = keyIdOf(this.publicKey);
      // Another key's signature cannot be checked here (a rotated key; verify checks it against the
      // trusted key); one that names this key must verify.
      if (check.state === 'invalid' && check.keyId === ours) {
        throw new CheckpointHistoryLost(`its latest checkpoint (version ${latest.version}) names this key but its signature does not verify: ${check.reason}`);
      }
      if (check.state === 'unsigned') {
        const signed = await this.lastSignedVersion(latest.version);
        if (signed !== null) {
          throw new CheckpointHistoryLost(
            `its latest checkpoint (version ${latest.version}) is unsigned while version ${signed} is signed; checkpoints are only extended from the last signed one`,
          );
        }
      }
    }
  }

  /** The version of the newest signed checkpoint before `before`, or null when none is signed. */
  private async lastSignedVersion(before: number): Promise<number | null> {
    for (let from = before; from >= 1;) {
      const page = await this.store.readStream(CHECKPOINT_STREAM, { direction: 'backwards', fromVersion: from, limit: this.pageSize });
      for (const event of page) {
        const parsed = parseCheckpoint(event.stored?.data ?? event.data);
        if (parsed.ok && parsed.checkpoint.signature !== undefined) return event.streamVersion;
      }
      if (page.length < this.pageSize) return null;
      from = page.at(-1)!.streamVersion - 1;
    }
    return null;
  }

  /** One checkpoint operation at a time per instance (the loop and checkpointNow share the state). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function withoutTime(latest: RecordedCheckpoint & { recordedAtMs: number }): RecordedCheckpoint {
  return { version: latest.version, position: latest.position, checkpoint: latest.checkpoint };
}
