import { siteStreamId, type SetpointChange } from '@v2g/domain';
import type { EventStore } from '@v2g/event-store';

/** One recorded allocation's changed setpoints (an allocation or a curtailment). */
export type SetpointsChanged = { siteId: string; at: string; trigger: string; position: bigint; setpoints: SetpointChange[] };

/**
 * Every SetpointsAssigned of a site from the event log, from just after `after` (default: the
 * head now), so a subscriber sees exactly what was recorded and in log order, whichever process
 * recorded it. Stops reading the log when the consumer stops.
 */
export async function* setpointChanges(store: EventStore, siteId: string, after: bigint | null): AsyncGenerator<SetpointsChanged> {
  const streamId = siteStreamId(siteId);
  const stop = new AbortController();
  try {
    const from = after ?? (await store.headPosition());
    for await (const event of store.subscribe({ after: from, category: 'site', signal: stop.signal })) {
      if (event.streamId !== streamId || event.type !== 'SetpointsAssigned') continue;
      const data = event.data as { at: string; trigger: string; setpoints: SetpointChange[] };
      yield { siteId, at: data.at, trigger: data.trigger, position: event.globalPosition, setpoints: data.setpoints };
    }
  } finally {
    // The consumer went away (or the ledger is closing): stop reading the log.
    stop.abort();
  }
}
