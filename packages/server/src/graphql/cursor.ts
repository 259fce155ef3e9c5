import { InvalidArgument } from './errors.ts';

/**
 * Opaque cursors: base64url of `<kind>:<integer>`. The kind keeps a cursor of one connection from
 * being accepted by another; clients must not build or read them.
 */
export function encodeCursor(kind: string, value: bigint | number): string {
  return Buffer.from(`${kind}:${value.toString()}`, 'utf8').toString('base64url');
}

export function decodeCursor(kind: string, cursor: string, argument = 'after'): bigint {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^([a-z]+):(0|[1-9][0-9]{0,18})$/.exec(decoded);
  if (!match || match[1] !== kind || encodeCursor(kind, BigInt(match[2]!)) !== cursor) {
    throw new InvalidArgument(argument, `${JSON.stringify(cursor)} is not a cursor of this connection`);
  }
  return BigInt(match[2]!);
}

/** A cursor over a text key (a session id, say): base64url of `<kind>:<key>`. */
export function encodeKeyCursor(kind: string, key: string): string {
  return Buffer.from(`${kind}:${key}`, 'utf8').toString('base64url');
}

export function decodeKeyCursor(kind: string, cursor: string, argument = 'after'): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const prefix = `${kind}:`;
  if (!decoded.startsWith(prefix) || encodeKeyCursor(kind, decoded.slice(prefix.length)) !== cursor) {
    throw new InvalidArgument(argument, `${JSON.stringify(cursor)} is not a cursor of this connection`);
  }
  return decoded.slice(prefix.length);
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** The page size asked for, checked: 0..MAX_PAGE_SIZE. */
export function pageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (size < 0 || size > MAX_PAGE_SIZE) throw new InvalidArgument('first', `must be from 0 to ${MAX_PAGE_SIZE}, not ${size}`);
  return size;
}
