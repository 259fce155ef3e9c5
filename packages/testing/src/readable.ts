import type { EventStore } from '@v2g/event-store';

/** Waits until the global log can return `position` (on a server, other transactions may hold it back). */
export async function settled(store: EventStore, position: bigint): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await store.headPosition()) < position) {
    if (Date.now() > deadline) throw new Error(`position ${position} did not become readable in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
