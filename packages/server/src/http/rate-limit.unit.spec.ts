import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit.ts';

describe('TokenBuckets', () => {
  it('allows a burst, then one request per 1/rate, and says how long to wait', () => {
    let now = 0;
    const buckets = new TokenBuckets({ perMinute: 60, burst: 3 }, () => now);
    expect([1, 2, 3].map(() => buckets.take('k').allowed)).toEqual([true, true, true]);
    expect(buckets.take('k')).toEqual({ allowed: false, retryAfterMs: 1000 });
    now = 400;
    expect(buckets.take('k')).toEqual({ allowed: false, retryAfterMs: 600 });
    now = 1000;
    expect(buckets.take('k').allowed).toBe(true);
    expect(buckets.take('k').allowed).toBe(false);
    // Another key has its own bucket.
    expect(buckets.take('other').allowed).toBe(true);
    // Idle long enough, a bucket is full again, never more than the burst.
    now = 60_000;
    expect([1, 2, 3, 4].map(() => buckets.take('k').allowed)).toEqual([true, true, true, false]);
  });

  it('gives a refunded token back, up to the burst', () => {
    const now = 0;
    const buckets = new TokenBuckets({ perMinute: 60, burst: 1 }, () => now);
    expect(buckets.take('k').allowed).toBe(true);
    buckets.refund('k');
    buckets.refund('k');
    expect(buckets.take('k').allowed).toBe(true);
    expect(buckets.take('k').allowed).toBe(false);
  });

  it('forgets buckets that filled up again once many keys were seen', () => {
    let now = 0;
    const buckets = new TokenBuckets({ perMinute: 60_000, burst: 2 }, () => now);
    for (let i = 0; i < 10_000; i++) buckets.take(`k${i}`);
    expect(buckets.size).toBe(10_000);
    now = 10; // 1 token a millisecond: every bucket is full again
    buckets.take('new');
    expect(buckets.size).toBe(1);
  });
});
