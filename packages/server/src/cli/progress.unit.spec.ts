import { describe, expect, it } from 'vitest';
import { duration, formatBar, formatLine, ProgressBar, type ProgressStream } from './progress.ts';

function fakeStream(isTTY: boolean, columns = 100): ProgressStream & { text: () => string } {
  let written = '';
  return { isTTY, columns, write: (chunk: string) => (written += chunk), text: () => written };
}

describe('ProgressBar', () => {
  it('off a terminal: a plain line at most every interval, and a last one when any was written', () => {
    let now = 0;
    const stream = fakeStream(false);
    const bar = new ProgressBar({ label: 'verify log', unit: 'events', total: 1000, stream, now: () => now, plainIntervalMs: 5000 });
    now = 1000;
    bar.update(100);
    expect(stream.text()).toBe('');
    now = 5000;
    bar.update(500);
    now = 6000;
    bar.update(600);
    now = 10_000;
    bar.update(1000);
    bar.finish();
    bar.finish();
    expect(stream.text().split('\n')).toEqual([
      'verify log: 500/1,000 events (50%), 100 events/s, ETA 5s',
      'verify log: 1,000/1,000 events (100%), 100 events/s, ETA 0s',
      'verify log: 1,000/1,000 events (100%), 100 events/s, in 10s',
      '',
    ]);
  });

  it('stays quiet for a short run, and entirely when disabled', () => {
    let now = 0;
    const quick = fakeStream(false);
    const bar = new ProgressBar({ label: 'x', stream: quick, now: () => now });
    now = 200;
    bar.update(10);
    bar.finish();
    expect(quick.text()).toBe('');
    const off = fakeStream(true);
    const silent = new ProgressBar({ label: 'x', stream: off, now: () => now, enabled: false, total: 5 });
    now = 10_000;
    silent.update(5);
    silent.finish();
    expect(off.text()).toBe('');
  });

  it('on a terminal: one bar redrawn in place, then a newline', () => {
    let now = 0;
    const stream = fakeStream(true, 100);
    const bar = new ProgressBar({ label: 'verify streams', total: 200, stream, now: () => now, redrawMs: 100 });
    now = 100;
    bar.update(50);
    now = 150;
    bar.update(60); // throttled
    now = 200;
    bar.increment(40);
    bar.finish();
    const frames = stream.text().split('\r').filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(frames[0]).toMatch(/^verify streams █+░+ {2}25% {2}50\/200 events {2}500\/s {2}ETA 0s\x1b\[K$/);
    expect(frames[2]).toMatch(/ 50% {2}100\/200 events {2}500\/s {2}ETA 0s\x1b\[K\n$/);
  });

  it('without a total: no percentage, no ETA', () => {
    expect(formatLine({ label: 'rebuild', unit: 'events', done: 1500, total: null, elapsedMs: 3000 })).toBe('rebuild: 1,500 events, 500 events/s');
    expect(formatBar({ label: 'rebuild', unit: 'events', done: 1500, total: null, elapsedMs: 3000 }, 80)).toBe('rebuild  1,500 events  500/s');
  });

  it('fits the terminal width, and says ? when it cannot tell', () => {
    const line = formatBar({ label: 'verify', unit: 'events', done: 0, total: 10, elapsedMs: 0 }, 40);
    expect(line.length).toBeLessThan(40);
    expect(line).toContain('ETA ?');
  });

  it('formats durations', () => {
    expect([duration(0), duration(59.4), duration(61), duration(3600 + 7 * 60 + 5)]).toEqual(['0s', '59s', '1m01s', '1h07m']);
  });
});
