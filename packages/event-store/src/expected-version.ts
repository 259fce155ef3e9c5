/**
 * What the writer expects of the stream before the append. A module of its own: the append's
 * types (types.ts) and its errors (errors.ts, StreamVersionConflict) both name it, and types.ts
 * throws one of those errors.
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'exists' | number;
