import { InvalidArgument, InvalidCursor } from './errors.ts';

/**
 * Opaque cursors: base64url of `<kind>:<key>`. The kind keeps a cursor of one connection from
 * being accepted by another; clients must not build or read them. Every cursor that does not
 * decode to a key of its connection is refused with INVALID_CURSOR, before any I/O.
 */

/** The largest bigint PostgreSQL stores: a position beyond it was never issued. */
const MAX_POSITION = 9_223_372_036_854_775_807n;
const POSITION = /^(0|[1-9][0-9]{0,18})$/;

function encode(kind: string, key: string): string {
  return Buffer.from(`${kind}:${key}`, 'utf8').toString('base64url');
}

/** The key a cursor of `kind` holds, or null when it is not one (also not in canonical encoding). */
function keyOf(kind: string, cursor: string): string | null {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const prefix = `${kind}:`;
  if (!decoded.startsWith(prefix)) return null;
  const key = decoded.slice(prefix.length);
  return encode(kind, key) === cursor ? key : null;
}

function position(text: string | undefined): bigint | null {
  if (text === undefined || !POSITION.test(text)) return null;
  const value = BigInt(text);
  return value <= MAX_POSITION ? value : null;
}

export function encodeCursor(kind: string, value: bigint | number): string {
  return encode(kind, value.toString());
}

export function decodeCursor(kind: string, cursor: string, argument = 'after'): bigint {
  const key = keyOf(kind, cursor);
  const value = key === null ? null : position(key);
  if (value === null) throw new InvalidCursor(argument, cursor);
  return value;
}

/** How a connection writes its keys into cursors and reads them back. */
export type CursorCodec<K> = {
  encode(key: K): string;
  /** The key, or InvalidCursor naming `argument`. */
  decode(cursor: string, argument: string): K;
};

/** Cursors over a log position (a bigint key). */
export function positionCursor(kind: string): CursorCodec<bigint> {
  return { encode: (key) => encodeCursor(kind, key), decode: (cursor, argument) => decodeCursor(kind, cursor, argument) };
}

/** Cursors over a log position and a text tie-breaker (a session id, say): `<position>:<text>`. */
export function positionTextCursor<K>(kind: string, split: (key: K) => [bigint, string], join: (position: bigint, text: string) => K): CursorCodec<K> {
  return {
    encode: (key) => {
      const [p, text] = split(key);
      return encode(kind, `${p}:${text}`);
    },
    decode: (cursor, argument) => {
      const key = keyOf(kind, cursor);
      const colon = key === null ? -1 : key.indexOf(':');
      const p = colon < 0 ? null : position(key!.slice(0, colon));
      if (p === null) throw new InvalidCursor(argument, cursor);
      return join(p, key!.slice(colon + 1));
    },
  };
}

/** Cursors over a log position and an ordinal within its event: `<position>:<ordinal>`. */
export function positionOrdinalCursor(kind: string): CursorCodec<{ position: bigint; ordinal: number }> {
  return {
    encode: (key) => encode(kind, `${key.position}:${key.ordinal}`),
    decode: (cursor, argument) => {
      const match = /^([^:]*):(0|[1-9][0-9]{0,8})$/.exec(keyOf(kind, cursor) ?? '');
      const p = match ? position(match[1]) : null;
      if (p === null) throw new InvalidCursor(argument, cursor);
      return { position: p, ordinal: Number(match![2]) };
    },
  };
}

/** Cursors over a text key (a site id, say): `<kind>:<key>`. */
export function textCursor(kind: string): CursorCodec<string> {
  return {
    encode: (key) => encode(kind, key),
    decode: (cursor, argument) => {
      const key = keyOf(kind, cursor);
      if (key === null || key === '') throw new InvalidCursor(argument, cursor);
      return key;
    },
  };
}

const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** The page size asked for (as `first`, or `last`), checked: 0..MAX_PAGE_SIZE. */
export function pageSize(size: number | null | undefined, argument = 'first'): number {
  const value = size ?? DEFAULT_PAGE_SIZE;
  if (value < 0 || value > MAX_PAGE_SIZE) throw new InvalidArgument(argument, `must be from 0 to ${MAX_PAGE_SIZE}, not ${value}`);
  return value;
}
