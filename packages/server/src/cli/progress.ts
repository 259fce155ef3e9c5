/**
 * Progress of long CLI work (verify, and later projection rebuilds, replays and audits): done /
 * total, rate and ETA, on stderr so that stdout stays the command's result.
 *
 * On a terminal it is one bar redrawn in place (at most every `redrawMs`); anywhere else (a pipe,
 * a CI log) it is a plain line every `plainIntervalMs`, and a last line at the end when any was
 * written, so that a short run stays quiet. Our own ~100 lines rather than a library: the bar is
 * one line of text, and a library would bring its own notion of streams and TTY detection.
 */

export type ProgressStream = { write(chunk: string): unknown; isTTY?: boolean; columns?: number };

export type ProgressOptions = {
  /** What is being done ("log", "streams"). */
  label: string;
  /** What is counted (default "events"); the rate is `<unit>/s`. */
  unit?: string;
  /** Unknown (null): no percentage and no ETA. */
  total?: number | null;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Milliseconds now (default Date.now). */
  now?: () => number;
  /** Not a terminal: a line at most this often (default 5 s). */
  plainIntervalMs?: number;
  /** A terminal: a redraw at most this often (default 100 ms). */
  redrawMs?: number;
  /** false: writes nothing (--quiet). */
  enabled?: boolean;
};

export type ProgressState = { label: string; unit: string; done: number; total: number | null; elapsedMs: number };

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly tty: boolean;
  private done = 0;
  private total: number | null;
  private lastWriteAt: number;
  private wrote = false;
  private finished = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.lastWriteAt = this.startedAt;
    this.total = options.total ?? null;
    this.tty = this.stream.isTTY === true;
  }

  update(done: number, total: number | null = this.total): void {
    if (this.finished) return;
    this.done = done;
    this.total = total;
    const now = this.now();
    const every = this.tty ? (this.options.redrawMs ?? 100) : (this.options.plainIntervalMs ?? 5000);
    if (now - this.lastWriteAt >= every) this.write(now);
  }

  increment(by = 1): void {
    this.update(this.done + by);
  }

  /** The last state, on its own line, when anything was shown. Idempotent. */
  finish(): void {
    if (this.finished) return;
    if (this.wrote) {
      this.write(this.now(), true);
      if (this.tty && this.options.enabled !== false) this.stream.write('\n');
    }
    this.finished = true;
  }

  state(): ProgressState {
    return { label: this.options.label, unit: this.options.unit ?? 'events', done: this.done, total: this.total, elapsedMs: this.now() - this.startedAt };
  }

  private write(now: number, final = false): void {
    this.lastWriteAt = now;
    if (this.options.enabled === false) return;
    this.wrote = true;
    const state = this.state();
    if (this.tty) this.stream.write(`\r${formatBar(state, this.stream.columns ?? 80)}\x1b[K`);
    else this.stream.write(`${formatLine(state, final)}\n`);
  }
}

/** `log: 412,000/1,000,000 positions (41%), 182,000 positions/s, ETA 3s` */
export function formatLine(state: ProgressState, final = false): string {
  const { label, unit, done, total } = state;
  const rate = rateOf(state);
  const parts = [`${label}: ${count(done)}${total === null ? '' : `/${count(total)}`} ${unit}${percent(state)}`, `${count(Math.round(rate))} ${unit}/s`];
  if (final) parts.push(`in ${duration(state.elapsedMs / 1000)}`);
  else if (total !== null) parts.push(`ETA ${eta(state)}`);
  return parts.join(', ');
}

/** `log ████████░░░░░░░░  41%  412,000/1,000,000 positions  182,000/s  ETA 3s`, cut to `columns`. */
export function formatBar(state: ProgressState, columns: number): string {
  const { label, unit, done, total } = state;
  const tail = `${total === null ? '' : ` ${String(Math.floor(fraction(state) * 100)).padStart(3)}%`}  ${count(done)}${total === null ? '' : `/${count(total)}`} ${unit}  ${count(Math.round(rateOf(state)))}/s${total === null ? '' : `  ETA ${eta(state)}`}`;
  const room = columns - label.length - tail.length - 2;
  const bar = total === null || room < 10 ? '' : ` ${'█'.repeat(Math.round(Math.min(room, 40) * fraction(state))).padEnd(Math.min(room, 40), '░')}`;
  return `${label}${bar}${tail}`.slice(0, Math.max(0, columns - 1));
}

function fraction({ done, total }: ProgressState): number {
  if (total === null || total <= 0) return 1;
  return Math.min(1, Math.max(0, done / total));
}

function percent(state: ProgressState): string {
  return state.total === null ? '' : ` (${Math.floor(fraction(state) * 100)}%)`;
}

function rateOf({ done, elapsedMs }: ProgressState): number {
  return elapsedMs <= 0 ? 0 : (done * 1000) / elapsedMs;
}

function eta(state: ProgressState): string {
  const rate = rateOf(state);
  if (state.total === null) return '?';
  const left = Math.max(0, state.total - state.done);
  if (left === 0) return '0s';
  return rate <= 0 ? '?' : duration(left / rate);
}

/** 45s, 3m05s, 2h07m */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}
