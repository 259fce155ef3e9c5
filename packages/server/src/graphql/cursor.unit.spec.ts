import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageSize, positionOrdinalCursor, positionTextCursor } from './cursor.ts';
import { InvalidArgument, InvalidCursor } from './errors.ts';

describe('cursors', () => {
  it('round-trip and stay opaque', () => {
    const cursor = encodeCursor('stream', 9_007_199_254_740_993n);
    expect(cursor).not.toContain('9007');
    expect(decodeCursor('stream', cursor)).toBe(9_007_199_254_740_993n);
  });

  it('refuse a cursor of another connection, garbage, and non-canonical encodings', () => {
    expect(() => decodeCursor('event', encodeCursor('stream', 1))).toThrow(InvalidCursor);
    expect(() => decodeCursor('stream', 'not-a-cursor')).toThrow(/not a cursor of this connection/);
    expect(() => decodeCursor('stream', Buffer.from('stream:01').toString('base64url'))).toThrow(InvalidCursor);
    expect(() => decodeCursor('stream', Buffer.from('stream:-1').toString('base64url'))).toThrow(InvalidCursor);
  });

  it('refuse a position beyond what PostgreSQL stores (it would fail in SQL, not here)', () => {
    expect(() => decodeCursor('gridsession', Buffer.from('gridsession:9999999999999999999').toString('base64url'))).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR', details: expect.objectContaining({ argument: 'after' }) }),
    );
    expect(decodeCursor('stream', encodeCursor('stream', 9_223_372_036_854_775_807n))).toBe(9_223_372_036_854_775_807n);
  });

  it('name the argument the cursor came in (after or before)', () => {
    expect(() => decodeCursor('order', 'x', 'before')).toThrow(expect.objectContaining({ code: 'INVALID_CURSOR', details: { argument: 'before', cursor: 'x' } }));
  });

  it('round-trip composite keys and refuse them from another kind or mangled', () => {
    const sessions = positionTextCursor(
      'gridsession',
      (k: { p: bigint; id: string }) => [k.p, k.id],
      (p, id) => ({ p, id }),
    );
    expect(sessions.decode(sessions.encode({ p: 42n, id: 'sess:a-1' }), 'after')).toEqual({ p: 42n, id: 'sess:a-1' });
    expect(() => sessions.decode(encodeCursor('gridsession', 42), 'after')).toThrow(InvalidCursor);
    const postings = positionOrdinalCursor('posting');
    expect(postings.decode(postings.encode({ position: 7n, ordinal: 3 }), 'after')).toEqual({ position: 7n, ordinal: 3 });
    expect(() => postings.decode(sessions.encode({ p: 7n, id: '3' }), 'after')).toThrow(InvalidCursor);
    expect(() => postings.decode(Buffer.from('posting:7:x').toString('base64url'), 'after')).toThrow(InvalidCursor);
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
