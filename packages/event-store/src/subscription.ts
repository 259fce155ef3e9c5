import type { RecordedEvent, SubscribeOptions } from './types.ts';

/**
 * Wakes subscribers when new events may be readable. A generation counter closes the race between
 * "read found nothing" and "start waiting": a wake-up in between is not lost.
 */
export class Notifier {
  private generation = 0;
  private waiters = new Set<() => void>();

  get current(): number {
    return this.generation;
  }

  notify(): void {
    this.generation += 1;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves when notified after `seen`, when the timeout passes, or when the signal aborts. */
  wait(seen: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.generation !== seen || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }
}

export type ReadBatch = (after: bigint, limit: number) => Promise<RecordedEvent[]>;

/**
 * Catch-up then live over any store: read batches after the checkpoint until the log is exhausted,
 * then sleep until notified (or until `pollMs` passes, which covers wake-ups a store cannot signal,
 * such as an unrelated transaction ending and letting held-back events through).
 */
export async function* catchUpThenLive(readBatch: ReadBatch, notifier: Notifier, options: SubscribeOptions & { pollMs: number }): AsyncGenerator<RecordedEvent> {
  let after = options.after ?? 0n;
  const batchSize = options.batchSize ?? 500;
  const { signal } = options;
  while (!signal?.aborted) {
    const seen = notifier.current;
    const batch = await readBatch(after, batchSize);
    for (const event of batch) {
      if (signal?.aborted) return;
      yield event;
      after = event.globalPosition;
    }
    if (batch.length < batchSize) await notifier.wait(seen, options.pollMs, signal);
  }
}
