import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { positionCursor } from '../cursor.ts';
import { connectionOf, type ConnectionArgs, type PageFetch } from './pagination.ts';

/** A list ordered by a bigint key, read as a keyset query would read it. */
function listOf(keys: readonly bigint[]) {
  const sorted = [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const fetches: PageFetch<bigint>[] = [];
  const fetch = async (window: PageFetch<bigint>) => {
    fetches.push(window);
    const inside = sorted.filter((k) => (window.after === null || k > window.after) && (window.before === null || k < window.before));
    return (window.backward ? inside.reverse() : inside).slice(0, window.limit);
  };
  return { sorted, fetches, spec: { cursor: positionCursor('item'), keyOf: (k: bigint) => k, fetch, count: async () => BigInt(sorted.length) } };
}

/** Positions of mixed digit counts: around 9/10, 99/100, 999/1000 and beyond. */
const positions = fc.uniqueArray(fc.oneof(fc.constantFrom(1n, 9n, 10n, 11n, 99n, 100n, 101n, 999n, 1000n, 1001n, 10_000n), fc.bigInt({ min: 1n, max: 20_000n })), {
  maxLength: 60,
});

describe('connectionOf', () => {
  it('walks a list forward (first/after) and backward (last/before) to its end: every node once, in order, totalCount of them', async () => {
    await fc.assert(
      fc.asyncProperty(positions, fc.integer({ min: 1, max: 9 }), async (keys, size) => {
        const { sorted, spec } = listOf(keys);
        const forward: bigint[] = [];
        let args: ConnectionArgs = { first: size };
        for (let pages = 0; ; pages += 1) {
          const page = await connectionOf(args, spec);
          expect(page.edges.length).toBeLessThanOrEqual(size);
          expect(page.pageInfo.hasPreviousPage).toBe(pages > 0);
          forward.push(...page.edges.map((e) => e.node));
          expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
          if (!page.pageInfo.hasNextPage) break;
          expect(page.edges).toHaveLength(size);
          args = { first: size, after: page.pageInfo.endCursor };
        }
        expect(forward).toEqual(sorted);
        const backward: bigint[] = [];
        args = { last: size };
        for (let pages = 0; ; pages += 1) {
          const page = await connectionOf(args, spec);
          expect(page.pageInfo.hasNextPage).toBe(pages > 0);
          backward.unshift(...page.edges.map((e) => e.node));
          if (!page.pageInfo.hasPreviousPage) break;
          args = { last: size, before: page.pageInfo.startCursor };
        }
        expect(backward).toEqual(sorted);
        expect(await (await connectionOf({ first: 0 }, spec)).totalCount()).toBe(BigInt(sorted.length));
      }),
      { numRuns: 200 },
    );
  });

  it('reads between two cursors in both directions', async () => {
    await fc.assert(
      fc.asyncProperty(positions, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 9 }), fc.boolean(), async (keys, i, j, size, backward) => {
        const { sorted, spec } = listOf(keys);
        fc.pre(sorted.length >= 2);
        const [a, b] = [sorted[i % sorted.length]!, sorted[j % sorted.length]!].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        const after = spec.cursor.encode(a!);
        const before = spec.cursor.encode(b!);
        const page = await connectionOf(backward ? { last: size, after, before } : { first: size, after, before }, spec);
        const inside = sorted.filter((k) => k > a! && k < b!);
        expect(page.edges.map((e) => e.node)).toEqual(backward ? inside.slice(Math.max(0, inside.length - size)) : inside.slice(0, size));
        expect(backward ? page.pageInfo.hasPreviousPage : page.pageInfo.hasNextPage).toBe(inside.length > size);
      }),
    );
  });

  it('with first: 0 reads no edges but still says whether there is a page', async () => {
    const { spec } = listOf([5n, 6n]);
    const page = await connectionOf({ first: 0 }, spec);
    expect(page.edges).toEqual([]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null });
  });

  it('refuses a bad cursor, a cursor of another connection, and first with last, before reading anything', async () => {
    const { spec, fetches } = listOf([1n, 2n]);
    await expect(connectionOf({ first: 1, after: 'garbage' }, spec)).rejects.toMatchObject({ code: 'INVALID_CURSOR', details: { argument: 'after' } });
    await expect(connectionOf({ last: 1, before: positionCursor('trade').encode(1n) }, spec)).rejects.toMatchObject({ code: 'INVALID_CURSOR', details: { argument: 'before' } });
    await expect(connectionOf({ first: 1, last: 1 }, spec)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { argument: 'last' } });
    await expect(connectionOf({ last: 101 }, spec)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { argument: 'last' } });
    expect(fetches).toEqual([]);
  });
});
