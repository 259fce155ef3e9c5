import type { ObjectRef } from '@pothos/core';
import { builder, type BuilderTypes } from '../builder.ts';

/**
 * Relay cursor connections, forward only (`first`, `after`): every list here is read in the order
 * it was written, by keyset, so paging backwards has no use yet and its arguments are left out.
 */
export type PageInfoShape = {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
};

export type EdgeShape<T> = { cursor: string; node: T };

export type ConnectionShape<T> = {
  edges: EdgeShape<T>[];
  pageInfo: PageInfoShape;
  /** Counted only when the field is asked for. */
  totalCount: () => Promise<bigint>;
};

const PageInfo = builder.objectRef<PageInfoShape>('PageInfo').implement({
  description: 'Where a page of a connection stands (Relay cursor connections).',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', { description: 'True when the page was asked for `after` a cursor.' }),
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

/** Defines `<Name>Connection` and `<Name>Edge` over a node type. */
export function connectionType<T>(name: string, node: ObjectRef<BuilderTypes, T>, description: string) {
  const Edge = builder.objectRef<EdgeShape<T>>(`${name}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor', { description: 'Opaque: pass it as `after` to read on from this edge.' }),
      // The shape is T by construction; Pothos cannot prove a generic T against its resolver result type.
      node: t.field({ type: node, resolve: (edge) => edge.node as never }),
    }),
  });
  return builder.objectRef<ConnectionShape<T>>(`${name}Connection`).implement({
    description,
    fields: (t) => ({
      edges: t.field({ type: [Edge], resolve: (connection) => connection.edges }),
      pageInfo: t.field({ type: PageInfo, resolve: (connection) => connection.pageInfo }),
      totalCount: t.field({ type: 'BigInt', description: 'How many nodes the whole connection holds.', resolve: (connection) => connection.totalCount() }),
    }),
  });
}

/** A page from `size + 1` rows read after the cursor: the extra row only says there is a next page. */
export function toConnection<T>(
  rows: readonly T[],
  size: number,
  afterGiven: boolean,
  cursorOf: (node: T) => string,
  totalCount: () => Promise<bigint>,
): ConnectionShape<T> {
  const edges = rows.slice(0, size).map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > size,
      hasPreviousPage: afterGiven,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}
