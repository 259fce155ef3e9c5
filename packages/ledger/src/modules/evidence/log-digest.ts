import type { RecordedEvent } from '@v2g/event-store';
import type { LogCheckpointedData } from './checkpoint.ts';
import { MerkleAccumulator } from './merkle.ts';

export type DigestSnapshot = {
  /** The position of the last event added (0n before any). */
  through: bigint;
  count: number;
  streams: number;
  merkleRoot: string;
  frontier: string[];
};

/**
 * What a checkpoint records about a prefix of the global log, built event by event in position
 * order: the count, the streams (events at version 1), the Merkle root and its frontier. The
 * checkpointer and the verifier share it, so they cannot disagree on what "the same" means.
 */
export class LogDigest {
  private constructor(
    private readonly merkle: MerkleAccumulator,
    private streamCount: number,
    private last: bigint,
  ) {}

  static empty(): LogDigest {
    return new LogDigest(new MerkleAccumulator(), 0, 0n);
  }

  /** Goes on from a checkpoint; throws when its frontier does not give its root. */
  static resume(checkpoint: LogCheckpointedData): LogDigest {
    const merkle = MerkleAccumulator.resume(Number(checkpoint.count), checkpoint.frontier);
    if (merkle.root() !== checkpoint.merkleRoot) throw new Error(`checkpoint through ${checkpoint.through}: its frontier does not give its merkleRoot`);
    return new LogDigest(merkle, Number(checkpoint.streams), BigInt(checkpoint.through));
  }

  add(event: Pick<RecordedEvent, 'globalPosition' | 'streamVersion' | 'hash'>): void {
    if (event.globalPosition <= this.last) {
      throw new Error(`log digest: position ${event.globalPosition} after ${this.last}: events must come in position order`);
    }
    this.merkle.addEvent(event.hash);
    if (event.streamVersion === 1) this.streamCount += 1;
    this.last = event.globalPosition;
  }

  get through(): bigint {
    return this.last;
  }

  get count(): number {
    return this.merkle.size;
  }

  snapshot(): DigestSnapshot {
    return { through: this.last, count: this.merkle.size, streams: this.streamCount, merkleRoot: this.merkle.root(), frontier: this.merkle.frontier() };
  }
}
