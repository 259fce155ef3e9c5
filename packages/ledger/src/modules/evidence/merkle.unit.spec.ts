import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, eventLeaf, MerkleAccumulator, merkleRootOf } from './merkle.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
/** Event hashes as the store writes them: 64 lowercase hex digits, distinct. */
const eventHashes = (minLength = 1, maxLength = 70) => fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hex), { minLength, maxLength });
const rootOfEvents = (hashes: readonly string[]) => {
  const accumulator = new MerkleAccumulator();
  for (const hash of hashes) accumulator.addEvent(hash);
  return accumulator.root();
};

describe('Merkle root (RFC 6962, SHA-256)', () => {
  it('gives the roots of the Certificate Transparency test vectors for 0 to 8 leaves', () => {
    // certificate-transparency merkle_tree_test: leaves "", 00, 10, 2021, 3031, 40414243, … and their roots.
    const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
    const roots = [
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const accumulator = new MerkleAccumulator();
    expect(accumulator.root()).toBe(roots[0]);
    expect(EMPTY_ROOT).toBe(roots[0]);
    leaves.forEach((leaf, i) => {
      accumulator.addLeaf(leaf);
      expect(accumulator.root()).toBe(roots[i + 1]);
      expect(merkleRootOf(leaves.slice(0, i + 1))).toBe(roots[i + 1]);
    });
  });

  it('hashes an event leaf as 0x00 followed by the event hash in ASCII hex (what sha256sum gives)', () => {
    const hash = 'ab'.repeat(32);
    expect(eventLeaf(hash).toString('hex')).toBe(createHash('sha256').update(`\0${hash}`).digest('hex'));
    expect(rootOfEvents([hash])).toBe(eventLeaf(hash).toString('hex'));
  });

  it('the accumulator gives the recursive definition for any number of leaves, and resumes from its frontier', () => {
    fc.assert(
      fc.property(eventHashes(0, 140), fc.nat(), (hashes, cut) => {
        const leaves = hashes.map((h) => Buffer.from(h, 'utf8'));
        expect(rootOfEvents(hashes)).toBe(merkleRootOf(leaves));
        // Stop anywhere, keep only the frontier, go on: the same root.
        const at = hashes.length === 0 ? 0 : cut % (hashes.length + 1);
        const first = new MerkleAccumulator();
        for (const hash of hashes.slice(0, at)) first.addEvent(hash);
        expect(first.frontier()).toHaveLength(popcount(at));
        const resumed = MerkleAccumulator.resume(at, first.frontier());
        for (const hash of hashes.slice(at)) resumed.addEvent(hash);
        expect(resumed.root()).toBe(rootOfEvents(hashes));
        expect(resumed.size).toBe(hashes.length);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a frontier that cannot belong to the size it claims', () => {
    expect(() => MerkleAccumulator.resume(3, ['a'.repeat(64)])).toThrow(/3 leaves need 2 subtree roots, not 1/);
    expect(() => MerkleAccumulator.resume(1, ['xyz'])).toThrow(/not a sha256 hex digest/);
  });

  it('any change of a single leaf changes the root', () => {
    fc.assert(
      fc.property(eventHashes(), fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hex), (hashes, index, replacement) => {
        const i = index % hashes.length;
        fc.pre(replacement !== hashes[i]);
        const changed = hashes.with(i, replacement);
        expect(rootOfEvents(changed)).not.toBe(rootOfEvents(hashes));
      }),
      { numRuns: 500 },
    );
  });

  it('deleting any leaf (or any run of leaves, or the tail) changes the root', () => {
    fc.assert(
      fc.property(eventHashes(), fc.nat(), fc.nat(), (hashes, index, length) => {
        const from = index % hashes.length;
        const to = from + 1 + (length % (hashes.length - from));
        const deleted = [...hashes.slice(0, from), ...hashes.slice(to)];
        expect(rootOfEvents(deleted)).not.toBe(rootOfEvents(hashes));
      }),
      { numRuns: 500 },
    );
  });

  it('reordering the leaves in any way changes the root', () => {
    fc.assert(
      fc.property(
        eventHashes(2).chain((hashes) => fc.tuple(fc.constant(hashes), fc.shuffledSubarray(hashes, { minLength: hashes.length, maxLength: hashes.length }))),
        ([hashes, shuffled]) => {
          fc.pre(shuffled.some((hash, i) => hash !== hashes[i]));
          expect(rootOfEvents(shuffled)).not.toBe(rootOfEvents(hashes));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('appending a copy of the last leaf changes the root (no odd-node duplication)', () => {
    fc.assert(
      fc.property(eventHashes(), (hashes) => {
        expect(rootOfEvents([...hashes, hashes.at(-1)!])).not.toBe(rootOfEvents(hashes));
      }),
    );
  });
});

function popcount(n: number): number {
  let count = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}
