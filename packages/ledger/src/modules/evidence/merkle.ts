import { createHash, hash } from 'node:crypto';

/**
 * The Merkle tree of RFC 6962 (Certificate Transparency), section 2.1, with SHA-256:
 *
 *   leaf hash   = SHA-256(0x00 || leaf bytes)
 *   node hash   = SHA-256(0x01 || left child hash || right child hash)
 *   MTH({})     = SHA-256()                       (the empty string)
 *   MTH(D[n])   = the leaf hash of D[0]           when n = 1
 *   MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n]))  when n > 1, k the largest power of 2 below n
 *
 * Odd-node rule: nothing is duplicated. With n not a power of 2 the left subtree is the largest
 * complete one and the rest forms the right subtree, so a lone last node is promoted, never paired
 * with a copy of itself (duplicating, as Bitcoin does, gives [a, b, c] and [a, b, c, c] the same
 * root). The 0x00 / 0x01 prefixes keep a leaf from ever passing for an inner node.
 *
 * The log's leaves are the events' chain hashes in global-position order, each as its 64 ASCII
 * characters of lowercase hex (`eventLeaf`). Anyone can recompute a root with sha256sum alone:
 * `printf '\0%s' <event hash> | sha256sum` is a leaf.
 */
export const MERKLE_ALGORITHM = 'rfc6962-sha256';

// One-shot crypto.hash over a reused buffer: several times faster than createHash() per node,
// which is most of the cost of checkpointing or verifying a large log.
const LEAF_INPUT = Buffer.alloc(65);
const NODE_INPUT = Buffer.alloc(65);
NODE_INPUT[0] = 0x01;

export function leafHash(data: Uint8Array): Buffer {
  if (data.length === 64) {
    LEAF_INPUT.set(data, 1);
    return hash('sha256', LEAF_INPUT, 'buffer');
  }
  return createHash('sha256')
    .update(Buffer.from([0x00]))
    .update(data)
    .digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32)
    return createHash('sha256')
      .update(Buffer.from([0x01]))
      .update(left)
      .update(right)
      .digest();
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 33);
  return hash('sha256', NODE_INPUT, 'buffer');
}

/** The leaf of one event: its chain hash as ASCII hex. */
export function eventLeaf(eventHash: string): Buffer {
  if (eventHash.length === 64) {
    LEAF_INPUT.write(eventHash, 1, 'latin1');
    if (/^[\x00-\x7f]{64}$/.test(eventHash)) return hash('sha256', LEAF_INPUT, 'buffer');
  }
  return leafHash(Buffer.from(eventHash, 'utf8'));
}

export const EMPTY_ROOT = createHash('sha256').digest('hex');

/**
 * The root straight from the definition above (recursive, whole list in memory). The reference the
 * accumulator is tested against; the verifier and the checkpointer use the accumulator.
 */
export function merkleRootOf(leaves: readonly Uint8Array[]): string {
  const mth = (from: number, to: number): Buffer => {
    const n = to - from;
    if (n === 1) return leafHash(leaves[from]!);
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(mth(from, from + k), mth(from + k, to));
  };
  return leaves.length === 0 ? EMPTY_ROOT : mth(0, leaves.length).toString('hex');
}

/**
 * The root of a growing list in O(log n) memory: the roots of the complete subtrees that the
 * binary digits of n give (the "frontier", largest first). Appending a leaf merges equal-sized
 * subtrees like a binary counter; the root folds the frontier from the right, which is exactly
 * MTH above. The frontier is what a checkpoint stores so that the next one can go on from it.
 */
export class MerkleAccumulator {
  /** Complete subtrees, largest first; their sizes are the binary digits of `size`. */
  private readonly subtrees: { size: number; hash: Buffer }[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Goes on from a stored frontier; throws when it cannot be the frontier of `size` leaves. */
  static resume(size: number, frontier: readonly string[]): MerkleAccumulator {
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`Merkle frontier: size ${size} is not a count`);
    const sizes: number[] = [];
    for (let bit = 2 ** Math.floor(Math.log2(Math.max(size, 1))); bit >= 1; bit /= 2) if (Math.floor(size / bit) % 2 === 1) sizes.push(bit);
    if (sizes.length !== frontier.length) {
      throw new Error(`Merkle frontier: ${size} leaves need ${sizes.length} subtree roots, not ${frontier.length}`);
    }
    const accumulator = new MerkleAccumulator();
    frontier.forEach((hex, i) => {
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`Merkle frontier: ${JSON.stringify(hex)} is not a sha256 hex digest`);
      accumulator.subtrees.push({ size: sizes[i]!, hash: Buffer.from(hex, 'hex') });
    });
    accumulator.count = size;
    return accumulator;
  }

  addLeaf(data: Uint8Array): void {
    this.push(leafHash(data));
  }

  /** Adds an event's leaf (see eventLeaf). */
  addEvent(eventHash: string): void {
    this.push(eventLeaf(eventHash));
  }

  root(): string {
    if (this.subtrees.length === 0) return EMPTY_ROOT;
    let root = this.subtrees.at(-1)!.hash;
    for (let i = this.subtrees.length - 2; i >= 0; i--) root = nodeHash(this.subtrees[i]!.hash, root);
    return root.toString('hex');
  }

  frontier(): string[] {
    return this.subtrees.map((subtree) => subtree.hash.toString('hex'));
  }

  private push(hash: Buffer): void {
    let subtree = { size: 1, hash };
    while (this.subtrees.length > 0 && this.subtrees.at(-1)!.size === subtree.size) {
      const left = this.subtrees.pop()!;
      subtree = { size: left.size * 2, hash: nodeHash(left.hash, subtree.hash) };
    }
    this.subtrees.push(subtree);
    this.count += 1;
  }
}
