import type { KeyObject } from 'node:crypto';
import { expectedEventHash, GENESIS_HASH, mapWithConcurrency, type EventStore, type RecordedEvent, type StreamHead } from '@v2g/event-store';
import { CHECKPOINT_EVENT_TYPE, CHECKPOINT_STREAM, checkSignature, parseCheckpoint, type LogCheckpointedData } from './checkpoint.ts';
import { sameCheckpoint, type PublishedCheckpoint } from './checkpoint-sink.ts';
import { LogDigest } from './log-digest.ts';

/**
 * `ledger verify`: everything an auditor can check from the store alone, in bounded memory.
 *
 * 1. The log, in position order, once: count, streams and Merkle root (log-digest.ts) of every
 *    prefix a checkpoint in `checkpoint-log` covers, compared with what the checkpoint recorded;
 *    each checkpoint's link to the one before it and its signature. A deleted, inserted, edited or
 *    reordered event up to a checkpoint's `through` changes its count or root, so deleting or
 *    rewriting whole streams, hash chains and all, is caught too. Anchors are roots published
 *    outside the store (`--anchor`), checked the same way.
 * 2. The streams, one by one (listStreams, then each stream in pages): every event's hash against
 *    its content and its predecessor's hash (the first broken link: stream, version, expected and
 *    found hash), versions without gaps, and the head the store recorded for the stream reached by
 *    the events (a truncated stream). Then the events the streams hold must be all the log holds.
 *
 * Everything is read up to the head at the start; what is appended meanwhile is left for next time.
 */

export type VerifyOptions = {
  /** The trusted Ed25519 public key: every signed checkpoint must verify with it. */
  publicKey?: KeyObject | null;
  /**
   * With a publicKey, an unsigned checkpoint is a problem, not a warning, and so is a log with
   * events but no checkpoint at all (the checkpoint history is missing).
   */
  requireSigned?: boolean;
  /**
   * The checkpoints published outside the database (a checkpoint sink, see checkpoint-sink.ts):
   * each must still be in the store's checkpoint-log, the same, and the log up to its `through`
   * must still give its root. A store that holds fewer is a shortened or removed history.
   */
  published?: readonly PublishedCheckpoint[];
  /** Where `published` was read from, for messages. */
  publishedFrom?: string;
  /** Roots published elsewhere: the log up to `through` must still give `merkleRoot`. */
  anchors?: readonly Anchor[];
  /** Events per read of the log (default 5,000) and of a stream (a fifth of it). */
  pageSize?: number;
  /** Streams per listStreams page (default 500). */
  streamPageSize?: number;
  /** Streams checked at once (default 4). */
  concurrency?: number;
  /** Problems kept in the report (default 100); all of them are counted. */
  maxProblems?: number;
  onProgress?: (progress: VerifyProgress) => void;
};

export type Anchor = { through: bigint; merkleRoot: string };

export type VerifyProgress = { phase: 'log'; unit: 'positions'; done: number; total: number } | { phase: 'streams'; unit: 'events'; done: number; total: number };

/** What is wrong, with the facts that say where. `message` is the same in words. */
export type TamperProblem =
  | { kind: 'hash-mismatch'; streamId: string; version: number; position: string; expectedHash: string; foundHash: string; message: string }
  | { kind: 'version-gap'; streamId: string; missingFrom: number; missingTo: number; position: string; message: string }
  | { kind: 'version-order'; streamId: string; version: number; afterVersion: number; position: string; message: string }
  | { kind: 'stream-truncated'; streamId: string; recordedVersion: number; recordedHash: string; lastVersion: number; message: string }
  | { kind: 'head-mismatch'; streamId: string; version: number; recordedHash: string; foundHash: string | null; message: string }
  | { kind: 'unlisted-events'; logEvents: number; streamEvents: number; message: string }
  | {
      kind: 'checkpoint-mismatch';
      checkpointVersion: number;
      position: string;
      through: string;
      differences: { field: 'count' | 'streams' | 'merkleRoot' | 'frontier'; recorded: string; found: string }[];
      message: string;
    }
  | { kind: 'checkpoint-chain'; checkpointVersion: number; position: string; through: string; reason: string; message: string }
  | { kind: 'checkpoint-malformed'; checkpointVersion: number; position: string; reason: string; message: string }
  | { kind: 'checkpoint-signature'; checkpointVersion: number; position: string; through: string; keyId: string | null; reason: string; message: string }
  | { kind: 'anchor-mismatch'; through: string; recorded: string; found: string | null; message: string }
  | { kind: 'checkpoint-history'; checkpointVersion: number | null; position: string | null; reason: string; message: string };

export type VerifyReport = {
  ok: boolean;
  /** The log was verified up to this position (its head when verify started). */
  head: string;
  /** Events in the log up to head. */
  events: number;
  /** Streams walked, and the events they hold up to head. */
  streams: number;
  streamEvents: number;
  /** The Merkle root of the whole log up to head: what to publish as an anchor. */
  merkleRoot: string;
  checkpoints: {
    checked: number;
    signed: number;
    signaturesValid: number;
    latest: { version: number; position: string; through: string; merkleRoot: string } | null;
  };
  anchors: number;
  /** Checkpoints published outside the store (a sink) that were checked. */
  published: number;
  /** The first `maxProblems` problems, chains first, then the log and its checkpoints. */
  problems: TamperProblem[];
  problemCount: number;
  /** What was not checked, or could be checked better. */
  warnings: string[];
};

export async function verifyLog(store: EventStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 5000;
  const maxProblems = options.maxProblems ?? 100;
  const head = await store.headPosition();
  const log = await checkLog(store, head, options, pageSize, maxProblems);
  const streams = await checkStreams(store, head, options, pageSize, maxProblems, log.events);
  if (streams.events !== log.events) {
    streams.problems.add({
      kind: 'unlisted-events',
      logEvents: log.events,
      streamEvents: streams.events,
      message:
        log.events > streams.events
          ? `the log holds ${log.events} events up to position ${head}, the streams the store lists hold ${streams.events}: events of unlisted streams (a stream's head record was removed)`
          : `the streams hold ${streams.events} events up to position ${head}, the log only ${log.events}`,
    });
  }
  const problems = [...streams.problems.list, ...log.problems.list].slice(0, maxProblems);
  const problemCount = streams.problems.count + log.problems.count;
  return {
    ok: problemCount === 0,
    head: head.toString(),
    events: log.events,
    streams: streams.count,
    streamEvents: streams.events,
    merkleRoot: log.merkleRoot,
    checkpoints: log.checkpoints,
    anchors: options.anchors?.length ?? 0,
    published: options.published?.length ?? 0,
    problems,
    problemCount,
    warnings: log.warnings,
  };
}

class Problems {
  readonly list: TamperProblem[] = [];
  count = 0;
  constructor(private readonly max: number) {}
  add(problem: TamperProblem): void {
    this.count += 1;
    if (this.list.length < this.max) this.list.push(problem);
  }
  addAll(other: Problems): void {
    for (const problem of other.list) this.add(problem);
    this.count += other.count - other.list.length;
  }
}

// ---------------------------------------------------------------------------------------------
// 1. The log and its checkpoints
// ---------------------------------------------------------------------------------------------

type Checkpoint = { version: number; position: bigint; through: bigint; data: LogCheckpointedData };

async function checkLog(store: EventStore, head: bigint, options: VerifyOptions, pageSize: number, maxProblems: number) {
  const problems = new Problems(maxProblems);
  const warnings: string[] = [];
  const digest = LogDigest.empty();
  const checkpoints = checkpointsUpTo(store, head, pageSize, problems);
  // What was published outside the store. One recorded after the head this run started from is
  // checked only for being in the store (the next run checks the rest); one the store lacks there
  // is a shortened history, also when the log's tail went with it.
  const published = (options.published ?? []).filter((p) => p.position <= head);
  const publishedLater = (options.published ?? []).filter((p) => p.position > head);
  const sinkName = options.publishedFrom ?? 'the checkpoint sink';
  const publishedVersions = new Set(published.map((p) => p.version));
  const storedPublished = new Map<number, Checkpoint>();
  const anchors = [...(options.anchors ?? []), ...published.map((p) => ({ through: BigInt(p.checkpoint.through), merkleRoot: p.checkpoint.merkleRoot }))].sort((a, b) =>
    a.through < b.through ? -1 : a.through > b.through ? 1 : 0,
  );
  const stats = { checked: 0, signed: 0, signaturesValid: 0, unsigned: 0, unchecked: 0 };
  let previous: Checkpoint | null = null;
  let next = await checkpoints.next();
  let anchor = 0;

  const checkCheckpoint = (checkpoint: Checkpoint) => {
    const { version, position, through, data } = checkpoint;
    const where = { checkpointVersion: version, position: position.toString(), through: data.through };
    const label = `checkpoint ${version} (position ${position}, through ${through})`;
    const chain = (reason: string) => problems.add({ kind: 'checkpoint-chain', ...where, reason, message: `${label}: ${reason}` });
    stats.checked += 1;
    if (publishedVersions.has(version)) storedPublished.set(version, checkpoint);
    if (through >= position) chain('covers positions after itself');
    const expectedPrevious = previous ? { through: previous.data.through, root: previous.data.merkleRoot } : { through: null, root: null };
    if (data.previousRoot !== expectedPrevious.root || data.previousThrough !== expectedPrevious.through) {
      chain(
        previous
          ? `names previous root ${data.previousRoot ?? 'none'} through ${data.previousThrough ?? 'none'}, but the checkpoint before it is ${previous.data.merkleRoot} through ${previous.data.through}`
          : `names a previous checkpoint (through ${data.previousThrough ?? 'none'}) but none comes before it: earlier checkpoints were removed`,
      );
    }
    if (previous && through < previous.position) chain(`does not cover the checkpoint before it (at position ${previous.position})`);
    if (through < digest.through) {
      chain(`comes after a checkpoint through ${digest.through}: out of order, its root cannot be checked`);
    } else {
      compare(checkpoint, label, where);
    }
    checkSigned(checkpoint, label, where);
    previous = checkpoint;
  };

  const compare = (checkpoint: Checkpoint, label: string, where: { checkpointVersion: number; position: string; through: string }) => {
    const found = digest.snapshot();
    const { data } = checkpoint;
    const differences: { field: 'count' | 'streams' | 'merkleRoot' | 'frontier'; recorded: string; found: string }[] = [];
    if (data.count !== String(found.count)) differences.push({ field: 'count', recorded: data.count, found: String(found.count) });
    if (data.streams !== String(found.streams)) differences.push({ field: 'streams', recorded: data.streams, found: String(found.streams) });
    if (data.merkleRoot !== found.merkleRoot) differences.push({ field: 'merkleRoot', recorded: data.merkleRoot, found: found.merkleRoot });
    if (data.frontier.join() !== found.frontier.join()) differences.push({ field: 'frontier', recorded: data.frontier.join(' '), found: found.frontier.join(' ') });
    if (differences.length === 0) return;
    const recordedCount = Number(data.count);
    const what: string[] = [];
    const recordedStreams = Number(data.streams);
    if (recordedCount > found.count) what.push(`${recordedCount - found.count} of the ${recordedCount} events it covers missing (deleted)`);
    else if (recordedCount < found.count) what.push(`${found.count - recordedCount} event(s) more than the ${recordedCount} it covers (inserted)`);
    if (recordedStreams > found.streams) what.push(`${recordedStreams - found.streams} of the ${recordedStreams} streams it covers missing`);
    else if (recordedStreams < found.streams) what.push(`${found.streams - recordedStreams} stream(s) more than the ${recordedStreams} it covers`);
    if (what.length === 0) {
      what.push(
        differences.some((d) => d.field === 'merkleRoot') ? 'the events up to it were rewritten or reordered (Merkle root differs)' : 'its frontier does not match the log',
      );
    } else if (differences.some((d) => d.field === 'merkleRoot')) {
      what.push('Merkle root differs');
    }
    problems.add({ kind: 'checkpoint-mismatch', ...where, differences, message: `${label}: ${what.join('; ')}` });
  };

  const checkSigned = (checkpoint: Checkpoint, label: string, where: { checkpointVersion: number; position: string; through: string }) => {
    const { data } = checkpoint;
    if (data.signature) stats.signed += 1;
    if (!options.publicKey) {
      if (data.signature) stats.unchecked += 1;
      return;
    }
    const check = checkSignature(data, options.publicKey);
    switch (check.state) {
      case 'valid':
        stats.signaturesValid += 1;
        return;
      case 'invalid':
        problems.add({ kind: 'checkpoint-signature', ...where, keyId: check.keyId, reason: check.reason, message: `${label}: forged or altered: ${check.reason}` });
        return;
      case 'unsigned':
        if (options.requireSigned) {
          problems.add({ kind: 'checkpoint-signature', ...where, keyId: null, reason: 'unsigned', message: `${label}: unsigned, and signatures are required` });
        } else {
          stats.unsigned += 1;
        }
        return;
      default: {
        const unreachable: never = check;
        throw new Error(`unknown signature state ${String(unreachable)}`);
      }
    }
  };

  const checkAnchor = ({ through, merkleRoot }: Anchor) => {
    const found = digest.snapshot().merkleRoot;
    if (found !== merkleRoot) {
      problems.add({
        kind: 'anchor-mismatch',
        through: through.toString(),
        recorded: merkleRoot,
        found,
        message: `anchor through ${through}: the log gives root ${found}, the published root is ${merkleRoot}`,
      });
    }
  };

  /** Checks every checkpoint and anchor whose prefix is complete before `nextPosition` (null: the end). */
  const settle = async (nextPosition: bigint | null) => {
    for (;;) {
      const a = anchors[anchor];
      const aDue = a !== undefined && a.through <= head && (nextPosition === null || a.through < nextPosition);
      const cDue = next !== null && (nextPosition === null || next.through < nextPosition);
      if (!aDue && !cDue) return;
      if (cDue && (!aDue || next!.through <= a!.through)) {
        checkCheckpoint(next!);
        next = await checkpoints.next();
      } else {
        checkAnchor(a!);
        anchor += 1;
      }
    }
  };

  let after = 0n;
  for (;;) {
    const page = await store.readAll({ after, limit: pageSize });
    let done = page.length < pageSize;
    for (const event of page) {
      if (event.globalPosition > head) {
        done = true;
        break;
      }
      await settle(event.globalPosition);
      digest.add(event);
      after = event.globalPosition;
    }
    options.onProgress?.({ phase: 'log', unit: 'positions', done: Number(after), total: Number(head) });
    if (done) break;
  }
  await settle(null);
  for (const a of anchors.slice(anchor)) {
    problems.add({
      kind: 'anchor-mismatch',
      through: a.through.toString(),
      recorded: a.merkleRoot,
      found: null,
      message: `anchor through ${a.through}: the log ends at position ${head}, before it (truncated)`,
    });
  }

  const latest = previous as Checkpoint | null;
  const history = (reason: string, at: PublishedCheckpoint | null = null) =>
    problems.add({
      kind: 'checkpoint-history',
      checkpointVersion: at?.version ?? null,
      position: at ? at.position.toString() : null,
      reason,
      message: `checkpoint history: ${reason}`,
    });
  for (const p of published) {
    const stored = storedPublished.get(p.version);
    const label = `${sinkName} holds checkpoint ${p.version} (position ${p.position}, through ${p.checkpoint.through})`;
    if (!stored) {
      history(
        latest
          ? `${label}, but the store's checkpoint-log ends at version ${latest.version}${latest.version > p.version ? ' and lacks it' : ''}: the checkpoint history was shortened`
          : `${label}, but the store holds no checkpoint: the checkpoint history was removed`,
        p,
      );
    } else if (stored.position !== p.position || !sameCheckpoint(stored.data, p.checkpoint)) {
      history(`${label}, and the store's checkpoint ${p.version} differs from it: the checkpoint history was rewritten`, p);
    }
    if (options.publicKey && p.checkpoint.signature) {
      const check = checkSignature(p.checkpoint, options.publicKey);
      if (check.state === 'invalid') history(`${label}: its signature does not verify (${check.reason})`, p);
    }
  }
  for (const p of publishedLater) {
    const [stored] = await store.readStream(CHECKPOINT_STREAM, { fromVersion: p.version, limit: 1 });
    const parsed = stored && stored.streamVersion === p.version ? parseCheckpoint(stored.stored?.data ?? stored.data) : null;
    if (stored && parsed?.ok && stored.globalPosition === p.position && sameCheckpoint(parsed.checkpoint, p.checkpoint)) continue;
    const label = `${sinkName} holds checkpoint ${p.version} (position ${p.position}, through ${p.checkpoint.through})`;
    history(
      stored && stored.streamVersion === p.version
        ? `${label}, and the store's checkpoint ${p.version} differs from it: the checkpoint history was rewritten`
        : latest
          ? `${label}, but the store's checkpoint-log ends at version ${latest.version}: the checkpoint history was shortened`
          : `${label}, but the store holds no checkpoint: the checkpoint history was removed`,
      p,
    );
  }
  if (options.requireSigned && stats.checked === 0 && digest.count > 0) {
    history(`the log holds ${digest.count} events but checkpoint-log holds no checkpoint, and signatures are required: the checkpoint history is missing (removed?)`);
  }
  if (options.requireSigned && options.published === undefined) {
    warnings.push('no checkpoint sink (LEDGER_CHECKPOINT_SINK_FILE or --sink): a checkpoint history shortened or rewritten from its start cannot be told from the store alone');
  }
  if (stats.checked === 0) {
    warnings.push('no checkpoint in checkpoint-log: a whole stream deleted or rewritten cannot be detected; run `ledger checkpoint` or let the server checkpoint');
  } else if (latest && digest.count > 0 && latest.through < digest.through) {
    warnings.push(
      `the latest checkpoint covers the log up to position ${latest.through} of ${digest.through}: events after it are checked by their hash chains and stream heads only`,
    );
  }
  if (stats.unchecked > 0) warnings.push(`${stats.unchecked} signed checkpoint(s) not checked: no public key (LEDGER_CHECKPOINT_PUBLIC_KEY)`);
  if (stats.unsigned > 0) warnings.push(`${stats.unsigned} checkpoint(s) unsigned (--require-signed makes that a failure)`);

  return {
    problems,
    warnings,
    events: digest.count,
    merkleRoot: digest.snapshot().merkleRoot,
    checkpoints: {
      checked: stats.checked,
      signed: stats.signed,
      signaturesValid: stats.signaturesValid,
      latest: latest ? { version: latest.version, position: latest.position.toString(), through: latest.data.through, merkleRoot: latest.data.merkleRoot } : null,
    },
  };
}

/** The checkpoint stream's events up to head, page by page, parsed; a malformed one is a problem. */
function checkpointsUpTo(store: EventStore, head: bigint, pageSize: number, problems: Problems): { next(): Promise<Checkpoint | null> } {
  let buffer: RecordedEvent[] = [];
  let fromVersion = 1;
  let exhausted = false;
  return {
    async next() {
      for (;;) {
        if (buffer.length === 0) {
          if (exhausted) return null;
          buffer = await store.readStream(CHECKPOINT_STREAM, { fromVersion, limit: pageSize });
          if (buffer.length < pageSize) exhausted = true;
          const last = buffer.at(-1);
          if (last) fromVersion = last.streamVersion + 1;
          if (buffer.length === 0) return null;
        }
        const event = buffer.shift()!;
        if (event.globalPosition > head) {
          exhausted = true;
          buffer = [];
          return null;
        }
        const where = { checkpointVersion: event.streamVersion, position: event.globalPosition.toString() };
        if (event.type !== CHECKPOINT_EVENT_TYPE) {
          const reason = `a ${event.type} event, not ${CHECKPOINT_EVENT_TYPE}`;
          problems.add({ kind: 'checkpoint-malformed', ...where, reason, message: `${CHECKPOINT_STREAM} version ${event.streamVersion}: ${reason}` });
          continue;
        }
        const parsed = parseCheckpoint(event.stored?.data ?? event.data);
        if (!parsed.ok) {
          problems.add({
            kind: 'checkpoint-malformed',
            ...where,
            reason: parsed.reason,
            message: `checkpoint ${event.streamVersion} (position ${event.globalPosition}): ${parsed.reason}`,
          });
          continue;
        }
        return { version: event.streamVersion, position: event.globalPosition, through: BigInt(parsed.checkpoint.through), data: parsed.checkpoint };
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 2. The streams
// ---------------------------------------------------------------------------------------------

async function checkStreams(store: EventStore, head: bigint, options: VerifyOptions, pageSize: number, maxProblems: number, logEvents: number) {
  const problems = new Problems(maxProblems);
  const streamPageSize = options.streamPageSize ?? 500;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let count = 0;
  let events = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.listStreams({ after, limit: streamPageSize });
    const streamPage = Math.max(1, Math.floor(pageSize / 5));
    const results = await mapWithConcurrency(page.streams, concurrency, (stream) => checkStream(store, stream, head, streamPage, maxProblems));
    for (const result of results) {
      count += 1;
      events += result.events;
      problems.addAll(result.problems);
    }
    options.onProgress?.({ phase: 'streams', unit: 'events', done: events, total: logEvents });
    if (page.next === null) break;
    after = page.next;
  }
  return { problems, count, events };
}

/** One stream's chain, versions and recorded head; `events` counts those up to head. */
async function checkStream(store: EventStore, recorded: StreamHead, head: bigint, pageSize: number, maxProblems: number) {
  const { streamId } = recorded;
  const problems = new Problems(maxProblems);
  let prevHash = GENESIS_HASH;
  let lastVersion = 0;
  let lastPosition = 0n;
  let events = 0;
  let hashAtRecordedVersion: string | undefined;
  let beyondRecordedHead = 0;
  let fromVersion = 1;
  for (;;) {
    const page = await store.readStream(streamId, { fromVersion, limit: pageSize });
    for (const event of page) {
      const version = event.streamVersion;
      const position = event.globalPosition.toString();
      if (version === lastVersion + 1) {
        const expected = expectedEventHash(prevHash, event, version, streamId);
        if (expected !== event.hash) {
          problems.add({
            kind: 'hash-mismatch',
            streamId,
            version,
            position,
            expectedHash: expected,
            foundHash: event.hash,
            message: `${streamId} version ${version} (position ${position}): hash mismatch: expected ${expected}, found ${event.hash} (edited after it was written)`,
          });
        }
      } else if (version > lastVersion + 1) {
        const missingFrom = lastVersion + 1;
        const missingTo = version - 1;
        const which = missingFrom === missingTo ? `version ${missingFrom} is` : `versions ${missingFrom} to ${missingTo} are`;
        problems.add({ kind: 'version-gap', streamId, missingFrom, missingTo, position, message: `${streamId}: ${which} missing before position ${position} (deleted)` });
      } else {
        problems.add({
          kind: 'version-order',
          streamId,
          version,
          afterVersion: lastVersion,
          position,
          message: `${streamId}: version ${version} (position ${position}) comes after version ${lastVersion}`,
        });
      }
      if (event.globalPosition <= lastPosition) {
        problems.add({
          kind: 'version-order',
          streamId,
          version,
          afterVersion: lastVersion,
          position,
          message: `${streamId}: version ${version} sits at position ${position}, not after its predecessor's ${lastPosition}`,
        });
      }
      // Go on from what is stored, so that each edited event is reported once, not every one after it.
      prevHash = event.hash;
      lastVersion = Math.max(lastVersion, version);
      lastPosition = event.globalPosition;
      if (version === recorded.version) hashAtRecordedVersion = event.hash;
      if (event.globalPosition <= head) {
        events += 1;
        if (version > recorded.version) beyondRecordedHead += 1;
      }
    }
    if (page.length < pageSize) break;
    fromVersion = page.at(-1)!.streamVersion + 1;
  }
  if (lastVersion < recorded.version) {
    problems.add({
      kind: 'stream-truncated',
      streamId,
      recordedVersion: recorded.version,
      recordedHash: recorded.lastHash,
      lastVersion,
      message: `${streamId}: truncated: the store records version ${recorded.version} (hash ${recorded.lastHash}), its events end at version ${lastVersion}`,
    });
  } else if (hashAtRecordedVersion !== undefined && hashAtRecordedVersion !== recorded.lastHash) {
    problems.add({
      kind: 'head-mismatch',
      streamId,
      version: recorded.version,
      recordedHash: recorded.lastHash,
      foundHash: hashAtRecordedVersion,
      message: `${streamId}: the store records hash ${recorded.lastHash} for version ${recorded.version}, the event there has ${hashAtRecordedVersion} (rewritten)`,
    });
  }
  if (beyondRecordedHead > 0) {
    problems.add({
      kind: 'head-mismatch',
      streamId,
      version: recorded.version,
      recordedHash: recorded.lastHash,
      foundHash: null,
      message: `${streamId}: ${beyondRecordedHead} event(s) after version ${recorded.version}, the head the store records (inserted)`,
    });
  }
  return { problems, events };
}
