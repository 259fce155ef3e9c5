import { DomainError, parseInstant } from '@v2g/domain';
import type { Logger } from 'pino';
import type { BookRef, MarketService, OpenBookRef } from './market-service.ts';

export type GateSchedulerOptions = {
  /** Epoch ms now (default: the market service's clock). */
  clock?: () => number;
  /** After a failure (the database away, say), try again this much later (default 5 s). */
  retryMs?: number;
  logger?: Logger;
};

/** setTimeout's longest delay; a gate further away is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Closes each book's gate when its gate closure time has passed: issues CloseGate (which runs the
 * auction of an auction book and expires every resting order). It learns the books from the market
 * read model at start (`watch` for each open book) and from every accepted submit (the service's
 * `onBookOpen`).
 *
 * The command id is the book's (`close-gate/<streamId>`), so two processes closing the same gate
 * write it once; a gate already closed by someone else's CloseGate is a refusal, and the book is
 * forgotten.
 */
export class GateScheduler {
  private readonly books = new Map<string, { book: OpenBookRef; dueMs: number; timer: NodeJS.Timeout | null }>();
  private readonly clock: () => number;
  private readonly retryMs: number;
  private stopped = false;

  constructor(
    private readonly market: MarketService,
    private readonly options: GateSchedulerOptions = {},
  ) {
    this.clock = options.clock ?? (() => market.now());
    this.retryMs = options.retryMs ?? 5_000;
  }

  /** Watches a book until its gate closes (idempotent: watching it again changes nothing). */
  watch(book: OpenBookRef): void {
    if (this.stopped || this.books.has(book.streamId)) return;
    const entry = { book, dueMs: parseInstant('gateClosureAt', book.gateClosureAt), timer: null as NodeJS.Timeout | null };
    this.books.set(book.streamId, entry);
    this.arm(book.streamId, entry.dueMs);
  }

  /** The books being watched, by stream id. */
  watching(): string[] {
    return [...this.books.keys()];
  }

  /**
   * Closes now every watched book whose gate has passed by the clock (tests that move their own
   * clock call this rather than wait for timers). Resolves to the stream ids closed.
   */
  async closeDue(): Promise<string[]> {
    const now = this.clock();
    const due = [...this.books.values()].filter((entry) => entry.dueMs <= now);
    const closed: string[] = [];
    for (const entry of due) if (await this.close(entry.book.streamId)) closed.push(entry.book.streamId);
    return closed;
  }

  stop(): void {
    this.stopped = true;
    for (const { timer } of this.books.values()) if (timer) clearTimeout(timer);
    this.books.clear();
  }

  private arm(streamId: string, atMs: number): void {
    const entry = this.books.get(streamId);
    if (!entry || this.stopped) return;
    if (entry.timer) clearTimeout(entry.timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, atMs - this.clock()));
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (this.clock() < entry.dueMs) {
        this.arm(streamId, entry.dueMs);
        return;
      }
      void this.close(streamId);
    }, delay);
    entry.timer.unref();
  }

  /** True when this call closed the gate (or found it closed under its own command id). */
  private async close(streamId: string): Promise<boolean> {
    const entry = this.books.get(streamId);
    if (!entry || this.stopped) return false;
    const ref: BookRef = { zone: entry.book.zone, deliveryStart: entry.book.deliveryStart, lengthMinutes: entry.book.lengthMinutes };
    try {
      await this.market.closeGate(ref, { commandId: `close-gate/${streamId}`, actor: 'gate-scheduler' });
      this.forget(streamId);
      this.options.logger?.info({ streamId }, 'gate closed');
      return true;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'GATE_NOT_REACHED') {
        // The clock and the book disagree by a hair: look again at the gate closure time.
        this.arm(streamId, entry.dueMs);
        return false;
      }
      if (error instanceof DomainError) {
        // Closed already (another process, an operator), or nothing to close: nothing left to do.
        this.options.logger?.info({ streamId, code: error.code }, 'gate not closed by the scheduler');
        this.forget(streamId);
        return false;
      }
      this.options.logger?.error({ err: error, streamId }, 'closing a gate failed; retrying later');
      this.arm(streamId, this.clock() + this.retryMs);
      return false;
    }
  }

  private forget(streamId: string): void {
    const entry = this.books.get(streamId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.books.delete(streamId);
  }
}
