/**
 * The allocation kernel's time at 100, 1,000 and 10,000 sessions on one site tree, beside the time
 * to sort the same sessions by a comparable composite key in the same run: the sort is the n log n
 * floor any allocation needs, so `ratio` says how far above that floor the kernel sits, whatever the
 * machine.
 *
 * The site: a root, 10 feeders, 90 circuits and 900 chargers (1,001 nodes; a charger's connectors
 * are not separate nodes). Every size uses that same tree; the limits are derived from the sessions
 * of that size (each level a share of the demand below it, the root 60% of it), so capacity binds at
 * every size rather than only at 10,000. Two discharge targets (a price signal and a grid
 * operator's request) run the discharge phase too. Everything comes from a seeded generator.
 *
 * The last line printed is one JSON object; `value` is the median ms at 10,000 sessions (goal < 20).
 */
import { allocate, type AllocationNode, type AllocationRequest, type AllocationSession, type Tier } from '@v2g/domain';
import { prng } from '@v2g/testing/workloads';

const SIZES = [100, 1_000, 10_000];
const RUNS = Number(process.env.BENCH_RUNS ?? 31);
/** Warm-up until the JIT has settled: at least this many runs and this long, per size and function. */
const WARMUP_RUNS = 20;
const WARMUP_MS = 500;
const FEEDERS = 10;
const CIRCUITS_PER_FEEDER = 9;
const CHARGERS_PER_CIRCUIT = 10;
const AT = Date.UTC(2026, 10, 27, 18, 0, 0);

type Tree = { ids: string[]; parent: number[]; leaves: number[] };

function tree(): Tree {
  const ids = ['site'];
  const parent = [-1];
  const leaves: number[] = [];
  for (let f = 0; f < FEEDERS; f++) {
    const feeder = ids.push(`f${f}`) - 1;
    parent.push(0);
    for (let c = 0; c < CIRCUITS_PER_FEEDER; c++) {
      const circuit = ids.push(`f${f}-c${c}`) - 1;
      parent.push(feeder);
      for (let p = 0; p < CHARGERS_PER_CIRCUIT; p++) {
        leaves.push(ids.push(`f${f}-c${c}-cp${p}`) - 1);
        parent.push(circuit);
      }
    }
  }
  return { ids, parent, leaves };
}

function pick<T>(random: () => number, weighted: Array<[T, number]>): T {
  let x = random() * weighted.reduce((sum, [, w]) => sum + w, 0);
  for (const [value, w] of weighted) if ((x -= w) < 0) return value;
  return weighted.at(-1)![0];
}

function scenario(n: number): AllocationRequest {
  const random = prng(0x5eed + n);
  const { ids, parent, leaves } = tree();
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const sessions: AllocationSession[] = Array.from({ length: n }, (_, i) => {
    const maxW = pick(random, [
      [7400, 5],
      [11_000, 4],
      [22_000, 1],
    ]);
    return {
      id: `sess-${String(i).padStart(5, '0')}`,
      nodeId: ids[leaves[int(0, leaves.length - 1)]!]!,
      tier: pick<Tier>(random, [
        ['urgent', 5],
        ['high', 15],
        ['normal', 50],
        ['low', 30],
      ]),
      minW: pick(random, [
        [1380, 3],
        [4140, 1],
      ]),
      maxW,
      wantsCharge: random() < 0.95,
      requiredW: random() < 0.3 ? 0 : int(0, maxW),
      laxityS: int(-600, 36_000),
      discharge:
        random() < 0.2
          ? {
              minW: 1380,
              maxW: pick(random, [
                [7400, 2],
                [11_000, 1],
              ]),
            }
          : null,
      rotation: { state: random() < 0.6 ? 'powered' : 'waiting', since: AT - int(0, 2 * 3_600_000) },
    };
  });

  // Limits from the demand below each node, so that every level binds somewhere.
  const demand = new Array<number>(ids.length).fill(0);
  const index = new Map(ids.map((id, j) => [id, j]));
  for (const s of sessions) for (let j = index.get(s.nodeId)!; j !== -1; j = parent[j]!) demand[j]! += s.maxW;
  const share = (j: number) => (j === 0 ? 0.6 : parent[j] === 0 ? 0.75 : parent[parent[j]!] === 0 ? 0.8 : 0.9);
  const nodes: AllocationNode[] = ids.map((id, j) => {
    const importW = Math.max(7400, Math.floor(demand[j]! * share(j)));
    return { id, parentId: j === 0 ? null : ids[parent[j]!]!, importW, exportW: Math.floor(importW / 2) };
  });
  return {
    at: AT,
    nodes,
    sessions,
    rotationIntervalMs: 15 * 60_000,
    promoteAfterMs: 30 * 60_000,
    discharge: [
      { nodeId: 'f0', targetW: Math.floor(demand[index.get('f0')!]! * 0.05), holdOthers: false, source: 'price' },
      { nodeId: 'f1', targetW: Math.floor(demand[index.get('f1')!]! * 0.05), holdOthers: true, source: 'request:dso-42' },
    ],
  };
}

const RANK: Record<Tier, number> = { urgent: 0, high: 1, normal: 2, low: 3 };

/** The floor: the same sessions sorted by tier, rotation state, since, laxity and id. */
function baseline(sessions: AllocationSession[]): AllocationSession[] {
  return sessions
    .slice()
    .sort(
      (a, b) =>
        RANK[a.tier] - RANK[b.tier] ||
        Number(a.rotation.state === 'powered') - Number(b.rotation.state === 'powered') ||
        a.rotation.since - b.rotation.since ||
        a.laxityS - b.laxityS ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
}

/**
 * Median ms of each function, the two timed alternately run by run so that both see the same load
 * (this machine is shared): their ratio holds up better than either time.
 */
function medianMs(...fns: Array<() => unknown>): number[] {
  const warmUntil = process.hrtime.bigint() + BigInt(WARMUP_MS * 1e6);
  for (let i = 0; i < WARMUP_RUNS || process.hrtime.bigint() < warmUntil; i++) for (const fn of fns) fn();
  const times = fns.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    fns.forEach((fn, f) => {
      const start = process.hrtime.bigint();
      fn();
      times[f]!.push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  return times.map((ts) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]!);
}

type Row = { n: number; ms: number; baselineMs: number; servedShare: number; onHold: number; discharging: number };
const rows: Row[] = [];
for (const n of SIZES) {
  const request = scenario(n);
  const result = allocate(request);
  const wanted = request.sessions.reduce((sum, s) => sum + (s.wantsCharge ? s.maxW : 0), 0);
  const served = result.sessions.reduce((sum, a) => sum + Math.max(0, a.powerW), 0);
  const [ms, baselineMs] = medianMs(
    () => allocate(request),
    () => baseline(request.sessions),
  ) as [number, number];
  rows.push({
    n,
    ms,
    baselineMs,
    servedShare: served / wanted,
    onHold: result.sessions.filter((a) => a.status === 'on_hold').length,
    discharging: result.sessions.filter((a) => a.status === 'discharging').length,
  });
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const header = ['sessions', 'median ms', 'µs/session', 'growth', 'sort ms', 'served/wanted', 'on hold', 'discharging'];
const table = [
  header,
  ...rows.map((r, i) => [
    String(r.n),
    r.ms.toFixed(3),
    ((r.ms * 1000) / r.n).toFixed(2),
    i === 0 ? '' : `×${(r.ms / rows[i - 1]!.ms).toFixed(1)}`,
    r.baselineMs.toFixed(3),
    `${(r.servedShare * 100).toFixed(0)}%`,
    String(r.onHold),
    String(r.discharging),
  ]),
];
const widths = header.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
process.stdout.write(`allocate bench: 1,001-node tree, median of ${RUNS} runs after >= ${WARMUP_RUNS} runs and ${WARMUP_MS} ms of warm-up\n`);
for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padStart(widths[c]!)).join('  ')}\n`);
const [, mid, big] = rows as [Row, Row, Row];
const growth = big.ms / mid.ms;
const nLogN = (big.n * Math.log(big.n)) / (mid.n * Math.log(mid.n));
process.stdout.write(
  `growth 1,000 → 10,000: time ×${growth.toFixed(1)} for n ×10 (n log n predicts ×${nLogN.toFixed(1)}, n² ×100); ` +
    `${big.ms < 20 ? 'within' : 'MISSES'} the 20 ms goal at 10,000\n`,
);

process.stdout.write(
  `${JSON.stringify({
    bench: 'allocate',
    unit: 'ms',
    value: round(big.ms, 3),
    baseline: round(big.baselineMs, 3),
    ratio: round(big.ms / big.baselineMs, 2),
    sessions: big.n,
    nodes: tree().ids.length,
    runs: RUNS,
    ms_100: round(rows[0]!.ms, 3),
    ms_1000: round(mid.ms, 3),
    baseline_100: round(rows[0]!.baselineMs, 3),
    baseline_1000: round(mid.baselineMs, 3),
    growth_1000_to_10000: round(growth, 2),
    growth_n_log_n: round(nLogN, 2),
    served_share_10000: round(big.servedShare, 3),
    goal_ms: 20,
  })}\n`,
);
