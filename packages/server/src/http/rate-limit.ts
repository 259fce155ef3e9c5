import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RateLimitConfig } from '../hardening-config.ts';
import { requestIdOf, requestLog } from './request-context.ts';

type Bucket = { tokens: number; at: number };

export type Take = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Token buckets by key, in this process's memory: each holds up to `burst` tokens and gains
 * `perMinute` a minute; a request takes one. Buckets that have filled up again are forgotten when
 * the map grows, so memory follows the keys active in the last `burst / rate`, not all ever seen.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private sweepAt = 10_000;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = config.perMinute / 60_000;
  }

  /** Takes a token from `key`'s bucket, or says how long until one is there. */
  take(key: string): Take {
    const bucket = this.refilled(key);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: (1 - bucket.tokens) / this.perMs };
  }

  /** Gives back a token taken from `key` (up to `burst`). */
  refund(key: string): void {
    const bucket = this.refilled(key);
    bucket.tokens = Math.min(this.config.burst, bucket.tokens + 1);
  }

  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.sweepAt) this.sweep(now);
      bucket = { tokens: this.config.burst, at: now };
      this.buckets.set(key, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.config.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    return bucket;
  }

  /** Forgets the buckets that are full again: a new one would be the same. */
  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.config.burst) this.buckets.delete(key);
    }
    this.sweepAt = Math.max(10_000, this.buckets.size * 2);
  }
}

/** What a rate limit counts by: the authenticated principal's id, else the client's address. */
export type RateLimitKeys = {
  /** The principal authentication put on the request (`res.locals.principal.id`), if any. */
  principalOf: (res: Response) => { id: string } | undefined;
};

/**
 * Rate limiting per key, as two express middlewares around authentication:
 * - `beforeAuthentication` takes a token from the client address's bucket (`ip:<address>`) and gives
 *   it back when the request turns out to have a principal: requests without valid credentials
 *   count against their address, so guessing keys costs the guesser, not the server;
 * - `afterAuthentication` charges the principal's own bucket (`principal:<id>`), so clients behind
 *   one address (a NAT, a proxy) do not share a limit, and one key is limited from any address.
 * Over the limit: 429 with `Retry-After` (whole seconds) and a GraphQL-shaped body, code RATE_LIMITED.
 * Without authentication in front, `afterAuthentication` finds no principal and lets the request
 * through: `beforeAuthentication` has charged its address.
 */
export function rateLimit(config: RateLimitConfig, keys: RateLimitKeys, now?: () => number) {
  const buckets = new TokenBuckets(config, now);
  const off: RequestHandler = (_req, _res, next) => next();
  if (config.perMinute === 0) return { beforeAuthentication: off, afterAuthentication: off, buckets };

  const beforeAuthentication: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'OPTIONS') return next();
    const key = `ip:${clientAddress(req)}`;
    const taken = buckets.take(key);
    if (!taken.allowed) return tooMany(res, taken.retryAfterMs, 'address');
    // 'close' comes after 'finish', or alone when the client went away.
    res.once('close', () => {
      if (keys.principalOf(res)) buckets.refund(key);
    });
    next();
  };
  const afterAuthentication: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const principal = keys.principalOf(res);
    if (req.method === 'OPTIONS' || !principal) return next();
    const taken = buckets.take(`principal:${principal.id}`);
    if (!taken.allowed) return tooMany(res, taken.retryAfterMs, 'principal');
    next();
  };
  return { beforeAuthentication, afterAuthentication, buckets };

  function tooMany(res: Response, retryAfterMs: number, by: 'address' | 'principal'): void {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    requestLog(res).warn({ rateLimitedBy: by, retryAfterSeconds }, 'rate limit exceeded');
    res
      .status(429)
      .set('Retry-After', String(retryAfterSeconds))
      .json({
        errors: [
          {
            message: `Too many requests: at most ${config.perMinute} a minute (bursts of ${config.burst}) per ${by === 'principal' ? 'API key or token' : 'client address'}. Retry after ${retryAfterSeconds} s.`,
            extensions: { code: 'RATE_LIMITED', retryAfterSeconds, requestId: requestIdOf(res) },
          },
        ],
      });
  }
}

/** The peer's address (express's `req.ip`: the socket's, unless `trust proxy` is set). */
function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
