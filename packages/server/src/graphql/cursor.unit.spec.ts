import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageSize } from './cursor.ts';
import { InvalidArgument } from './errors.ts';

describe('cursors', () => {
  it('round-trip and stay opaque', () => {
    const cursor = encodeCursor('stream', 9_007_199_254_740_993n);
    expect(cursor).not.toContain('9007');
    expect(decodeCursor('stream', cursor)).toBe(9_007_199_254_740_993n);
  });

  it('refuse a cursor of another connection, garbage, and non-canonical encodings', () => {
    expect(() => decodeCursor('event', encodeCursor('stream', 1))).toThrow(InvalidArgument);
    expect(() => decodeCursor('stream', 'not-a-cursor')).toThrow(/not a cursor of this connection/);
    expect(() => decodeCursor('stream', Buffer.from('stream:01').toString('base64url'))).toThrow(InvalidArgument);
    expect(() => decodeCursor('stream', Buffer.from('stream:-1').toString('base64url'))).toThrow(InvalidArgument);
  });
});

describe('pageSize', () => {
  it('defaults to 20 and accepts 0..100', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null)).toBe(20);
    expect(pageSize(0)).toBe(0);
    expect(pageSize(100)).toBe(100);
  });

  it('refuses sizes out of range with INVALID_ARGUMENT', () => {
    expect(() => pageSize(101)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', details: { argument: 'first', reason: 'must be from 0 to 100, not 101' } }));
    expect(() => pageSize(-1)).toThrow(InvalidArgument);
  });
});
