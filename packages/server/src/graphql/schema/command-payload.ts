import type { AppendResult } from '@v2g/event-store';
import type { BuilderTypes } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';

/** What every command's payload says of its append: the command, whether it was a retry, where it landed. */
export type Recorded = { commandId: string; duplicate: boolean; streamId: string; streamVersion: number; position: bigint | null };

type RecordedFieldDescriptions = Partial<Record<Exclude<keyof Recorded, 'commandId'>, string>>;

/** A payload's fields for its `Recorded` part, with the descriptions that payload gives them. */
export function recordedFields<Shape extends Recorded>(t: PothosSchemaTypes.ObjectFieldBuilder<BuilderTypes, Shape>, descriptions: RecordedFieldDescriptions = {}) {
  const described = (key: keyof RecordedFieldDescriptions) => (descriptions[key] === undefined ? {} : { description: descriptions[key] });
  return {
    commandId: t.id({ resolve: (p) => p.commandId }),
    duplicate: t.boolean({ ...described('duplicate'), resolve: (p) => p.duplicate }),
    streamId: t.id({ ...described('streamId'), resolve: (p) => p.streamId }),
    streamVersion: t.int({ ...described('streamVersion'), resolve: (p) => p.streamVersion }),
    position: t.field({ type: 'Position', nullable: true, ...described('position'), resolve: (p) => p.position }),
  };
}

/** Logs a handled command (one line, the same for every door) and says what was recorded. */
export function recorded(ctx: GraphQLContext, commandId: string, command: string, result: AppendResult): Recorded {
  ctx.log.info({ commandId, command, streamId: result.streamId, duplicate: result.duplicate, position: result.lastPosition?.toString() ?? null }, 'command handled');
  return { commandId, duplicate: result.duplicate, streamId: result.streamId, streamVersion: result.nextExpectedVersion, position: result.lastPosition };
}

/** The name of a mutation's result union: `plugIn` → `PlugInResult`. */
export const unionName = (mutation: string) => `${mutation[0]!.toUpperCase()}${mutation.slice(1)}Result`;
