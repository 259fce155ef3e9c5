import type { ObjectRef } from '@pothos/core';
import { builder, type BuilderTypes } from '../builder.ts';
import { pageSize, type CursorCodec } from '../cursor.ts';
import { InvalidArgument } from '../errors.ts';

/**
 * Relay cursor connections, and the one helper every connection of the schema pages with
 * (`connectionOf`): `first`/`after` read forward, `last`/`before` backward, by keyset over the
 * list's own order. The helper decodes the cursors (INVALID_CURSOR before any I/O), asks its
 * list for one row more than the page in reading order, and builds edges, pageInfo and
 * totalCount from that, the same way for every list.
 */
type PageInfoShape = {
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
    hasNextPage: t.exposeBoolean('hasNextPage', {
      description: 'Reading forward (`first`): there are nodes after this page. Reading backward (`last`): the page was asked for `before` a cursor.',
    }),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', {
      description: 'Reading backward (`last`): there are nodes before this page. Reading forward (`first`): the page was asked for `after` a cursor.',
    }),
    startCursor: t.exposeString('startCursor', { nullable: true }),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

/** Defines `<Name>Connection` and `<Name>Edge` over a node type. */
export function connectionType<T>(name: string, node: ObjectRef<BuilderTypes, T>, description: string) {
  const Edge = builder.objectRef<EdgeShape<T>>(`${name}Edge`).implement({
    fields: (t) => ({
      cursor: t.exposeString('cursor', { description: 'Opaque: pass it as `after` (or `before`) to read on from this edge.' }),
      // The shape is T by construction; Pothos cannot prove a generic T against its resolver result type.
      node: t.field({ type: node, resolve: (edge) => edge.node as never }),
    }),
  });
  return builder.objectRef<ConnectionShape<T>>(`${name}Connection`).implement({
    description,
    fields: (t) => ({
      edges: t.field({ type: [Edge], resolve: (connection) => connection.edges }),
      pageInfo: t.field({ type: PageInfo, resolve: (connection) => connection.pageInfo }),
      totalCount: t.field({
        type: 'BigInt',
        description: 'How many nodes the whole connection holds (every filter applied, no cursor).',
        resolve: (connection) => connection.totalCount(),
      }),
    }),
  });
}

/** The Relay paging arguments every connection field takes. */
export const connectionArgs = builder.args((t) => ({
  first: t.int({ description: 'Read forward: at most this many nodes (0 to 100, default 20).' }),
  after: t.string({ description: 'Read forward from after this cursor.' }),
  last: t.int({ description: 'Read backward: at most this many nodes, the last ones before `before` (or of the list).' }),
  before: t.string({ description: 'Only nodes before this cursor.' }),
}));

export type ConnectionArgs = { first?: number | null; after?: string | null; last?: number | null; before?: string | null };

/** The part of a list one page reads, in reading order: nearest `after`, or nearest `before` when backward. */
export type PageFetch<K> = { after: K | null; before: K | null; backward: boolean; limit: number };

export type ConnectionSpec<T, K> = {
  cursor: CursorCodec<K>;
  keyOf: (node: T) => K;
  /** At most `limit` rows of the window, in reading order. */
  fetch: (window: PageFetch<K>) => Promise<readonly T[]>;
  /** How many nodes the whole list holds. */
  count: () => Promise<bigint>;
};

/**
 * A page of a connection. The arguments are checked, and the cursors decoded, before the list is
 * read; the list is read for one row more than the page, which only says whether there is more.
 */
export async function connectionOf<T, K>(args: ConnectionArgs, spec: ConnectionSpec<T, K>): Promise<ConnectionShape<T>> {
  if (args.first != null && args.last != null) throw new InvalidArgument('last', 'page with first or with last, not both');
  const backward = args.last != null;
  const size = backward ? pageSize(args.last, 'last') : pageSize(args.first, 'first');
  const after = args.after == null ? null : spec.cursor.decode(args.after, 'after');
  const before = args.before == null ? null : spec.cursor.decode(args.before, 'before');
  const rows = await spec.fetch({ after, before, backward, limit: size + 1 });
  const more = rows.length > size;
  const page = rows.slice(0, size);
  if (backward) page.reverse();
  const edges = page.map((node) => ({ cursor: spec.cursor.encode(spec.keyOf(node)), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: backward ? before !== null : more,
      hasPreviousPage: backward ? more : after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: spec.count,
  };
}
