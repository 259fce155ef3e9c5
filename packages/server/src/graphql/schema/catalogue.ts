import type { RecordedEvent } from '@v2g/event-store';
import { type EventTypeCount, type StreamSummary } from '@v2g/projection-catalogue';
import { builder } from '../builder.ts';
import { positionCursor } from '../cursor.ts';
import { connectionArgs, connectionOf, connectionType } from './pagination.ts';

const EVENT_CURSOR = positionCursor('event');
const STREAM_CURSOR = positionCursor('stream');
import { OPERATOR_AUDITOR } from '../access.ts';

/** The stream catalogue read model, and each stream's events read from the event store. */

const EventMetadata = builder.objectRef<RecordedEvent['metadata']>('EventMetadata').implement({
  fields: (t) => ({
    commandId: t.exposeID('commandId', { description: 'The command that produced the event.' }),
    correlationId: t.exposeID('correlationId'),
    causationId: t.exposeID('causationId'),
    actor: t.exposeString('actor', { description: 'Who issued the command.' }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it happened in the world.', resolve: (m) => m.occurredAt }),
    recordedAt: t.field({ type: 'DateTime', description: 'When the ledger learned it.', resolve: (m) => m.recordedAt }),
  }),
});

const RecordedEventRef = builder.objectRef<RecordedEvent>('RecordedEvent').implement({
  description: 'An event in its envelope, as the store recorded it (upcast to the newest schema version).',
  fields: (t) => ({
    streamId: t.exposeID('streamId'),
    streamVersion: t.exposeInt('streamVersion', { description: 'Counts from 1 within the stream.' }),
    globalPosition: t.field({ type: 'Position', resolve: (e) => e.globalPosition }),
    type: t.exposeString('type'),
    schemaVersion: t.exposeInt('schemaVersion'),
    data: t.field({ type: 'JSON', resolve: (e) => e.data }),
    metadata: t.field({ type: EventMetadata, resolve: (e) => e.metadata }),
    hash: t.exposeString('hash', { description: 'sha256 of the previous hash and this event (hex): the stream is a hash chain.' }),
  }),
});

const EventConnection = connectionType('RecordedEvent', RecordedEventRef, "A stream's events in stream order.");

const Stream = builder.objectRef<StreamSummary>('Stream').implement({
  description: 'A stream as the catalogue read model knows it.',
  fields: (t) => ({
    streamId: t.exposeID('streamId'),
    category: t.exposeString('category', { description: 'What comes before the first "-" of the stream id.' }),
    version: t.exposeInt('version', { description: 'How many events the stream holds.' }),
    lastEventType: t.exposeString('lastEventType'),
    firstPosition: t.field({ type: 'Position', resolve: (s) => s.firstPosition }),
    lastPosition: t.field({ type: 'Position', resolve: (s) => s.lastPosition }),
    firstRecordedAt: t.field({ type: 'DateTime', resolve: (s) => s.firstRecordedAt }),
    lastRecordedAt: t.field({ type: 'DateTime', resolve: (s) => s.lastRecordedAt }),
    events: t.field({
      type: EventConnection,
      description: "The stream's events, read from the event store (not from the read model).",
      args: connectionArgs,
      resolve: (stream, args, { ledger }) =>
        connectionOf(args, {
          cursor: EVENT_CURSOR,
          keyOf: (e: RecordedEvent) => BigInt(e.streamVersion),
          fetch: (window) => ledger.catalogue.streamEvents(stream.streamId, window),
          count: async () => BigInt(await ledger.catalogue.streamVersion(stream.streamId)),
        }),
    }),
  }),
});

const StreamConnection = connectionType('Stream', Stream, 'Streams in the order they were created.');

const EventTypeCountRef = builder.objectRef<EventTypeCount>('EventTypeCount').implement({
  fields: (t) => ({
    type: t.exposeString('type'),
    count: t.field({ type: 'BigInt', resolve: (c) => c.count }),
    lastPosition: t.field({ type: 'Position', resolve: (c) => c.lastPosition }),
  }),
});

builder.queryFields((t) => ({
  streams: t.field({
    type: StreamConnection,
    description: 'Every stream, oldest first; the catalogue projection may lag the log slightly.',
    args: {
      ...connectionArgs,
      category: t.arg.string({ description: 'Only streams of this category ("site" for site-*).' }),
    },
    authScopes: OPERATOR_AUDITOR,
    resolve: (_root, args, { ledger }) => {
      const category = args.category ?? undefined;
      return connectionOf(args, {
        cursor: STREAM_CURSOR,
        keyOf: (s: StreamSummary) => s.firstPosition,
        fetch: async ({ after, before, backward, limit }) =>
          (
            await ledger.catalogue.readModel.listStreams({
              first: limit,
              category,
              backward,
              ...(after === null ? {} : { afterPosition: after }),
              ...(before === null ? {} : { beforePosition: before }),
            })
          ).streams,
        count: () => ledger.catalogue.readModel.countStreams(category),
      });
    },
  }),
  stream: t.field({
    type: Stream,
    nullable: true,
    description: 'One stream by id; null when the catalogue does not know it (yet).',
    args: { id: t.arg.id({ required: true }) },
    authScopes: OPERATOR_AUDITOR,
    resolve: (_root, args, { ledger }) => ledger.catalogue.readModel.findStream(String(args.id)),
  }),
  eventTypes: t.field({
    type: [EventTypeCountRef],
    description: 'How many events of each type the log holds, by type name.',
    authScopes: OPERATOR_AUDITOR,
    resolve: (_root, _args, { ledger }) => ledger.catalogue.readModel.eventTypeCounts(),
  }),
}));
