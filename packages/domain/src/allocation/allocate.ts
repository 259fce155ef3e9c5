/**
 * The capacity adjuster: one setpoint per session such that every node of the site's tree keeps
 * `-exportW <= net flow <= importW`. Pure and deterministic: the same request gives the same answer,
 * whatever the order of its sessions and nodes.
 *
 * Why it runs in this order:
 * - Urgent cars charge first, before any discharge, so an export request never takes power from a
 *   car that must leave charged; the discharge is then sized to cover their draw as well.
 * - Discharge comes before the other cars charge, because a grid operator's request is about the net
 *   flow at its node: what the other cars may take depends on what is fed back below them.
 * - Within a charging phase, admission at minW comes first: a charger cannot run below its minimum,
 *   so we decide who runs at all (tier first, then rotation so that nobody waits for ever), and only
 *   then share what is left: least-laxity first (the cars that would otherwise miss their departure),
 *   then max-min fair per tier.
 * - Fair share on a tree of limits is computed bottom-up: each node finds its own water level over
 *   the bounds its subtree passes up and caps them before passing them on. The limits are nested, so
 *   this is the max-min fair point, in O(n log n · depth) (one sort per binding node).
 * - Levels are floored to whole watts; a greedy top-up in priority order hands out the remainder, so
 *   no watt that someone below their max could use is left idle.
 * - Departure from the plain phase order: after the discharge phase, urgent cars not under a holding
 *   request are served again. Discharge can free room where an urgent car was on hold, and without
 *   this second pass a lower tier would take that room.
 *
 * Power is whole watts in JS numbers (see types.ts); every division is an exact floor.
 */
import type { Decimal } from '../values/index.ts';
import { TIERS, type AllocationRequest, type AllocationResult, type DischargeTarget, type SessionAllocation, type SessionStatus, type Tier } from './types.ts';

const RANK: Readonly<Record<Tier, number>> = { urgent: 0, high: 1, normal: 2, low: 3 };
const URGENT = 0;
const HIGH = 1;
/** Rotation classes: a turn still running, waiting (longest first), a turn that has expired. */
const TURN_RUNNING = 0;
const WAITING = 1;
const TURN_EXPIRED = 2;

/**
 * Every intermediate (flows, residuals, a node's room plus its members' floors) stays below three
 * times the sessions' total demand, so a total under a quarter of 2^53 keeps all of them exact.
 */
const MAX_TOTAL_W = Math.floor(Number.MAX_SAFE_INTEGER / 4);

/** Whole watts from a decimal limit, rounded down so the integer answer never exceeds the decimal one. */
export function floorWatts(value: Decimal): number {
  return safeInteger(value.floor());
}

/** Whole watts from a decimal minimum, rounded up so the integer answer never falls below the decimal one. */
export function ceilWatts(value: Decimal): number {
  return safeInteger(value.ceil());
}

function safeInteger(value: Decimal): number {
  const n = value.toNumber();
  if (!Number.isSafeInteger(n)) throw new Error(`${value.toFixed()} W is not a safe integer number of watts`);
  return n;
}

export function allocate(request: AllocationRequest): AllocationResult {
  const k = prepare(request);
  const all: number[] = [];
  for (let s = 0; s < k.sessionCount; s++) all.push(s);
  for (const s of all) {
    if (!k.wantsCharge[s]) settle(k, s, 'done', 'energy_delivered');
  }
  charge(
    k,
    all.filter((s) => k.rank[s] === URGENT && k.wantsCharge[s]),
  );
  const discharged = discharge(k);
  for (const s of all) {
    const hold = k.heldBy[s]!;
    if (hold >= 0 && k.rank[s] !== URGENT && k.wantsCharge[s] && k.power[s] === 0) {
      k.held[s] = 1;
      settle(k, s, 'on_hold', `discharge:${k.targets[hold]!.source}`);
    }
  }
  // Without a discharge nothing has changed since the urgent phase: a second pass would be a no-op.
  if (discharged) {
    charge(
      k,
      all.filter((s) => k.rank[s] === URGENT && k.wantsCharge[s] && k.power[s]! >= 0 && k.heldBy[s]! < 0),
    );
  }
  charge(
    k,
    all.filter((s) => k.rank[s] !== URGENT && k.wantsCharge[s] && k.power[s] === 0 && !k.held[s]),
  );

  const sessions: SessionAllocation[] = request.sessions.map((session, s) => ({
    sessionId: session.id,
    powerW: k.power[s]!,
    status: k.status[s]!,
    effectiveTier: TIERS[k.rank[s]!]!,
    reason: k.reason[s]!,
  }));
  const nodeFlowW = new Map(request.nodes.map((node, j) => [node.id, k.flow[j]!]));
  return { at: request.at, sessions, nodeFlowW };
}

/** The request flattened into typed arrays; sessions and nodes are referred to by input index. */
type Kernel = {
  nodeCount: number;
  nodeIds: string[];
  importW: Float64Array;
  exportW: Float64Array;
  /** Node indices, deepest first: every child comes before its parent. */
  bottomUp: Int32Array;
  flow: Float64Array;
  sessionCount: number;
  ids: string[];
  /** Session s's path, from its node up to the root: path[pathStart[s] .. pathStart[s + 1]). */
  path: Int32Array;
  pathStart: Int32Array;
  rank: Uint8Array;
  rotationClass: Uint8Array;
  since: Float64Array;
  laxityS: Float64Array;
  minW: Float64Array;
  maxW: Float64Array;
  requiredW: Float64Array;
  wantsCharge: Uint8Array;
  dischargeMinW: Float64Array;
  dischargeMaxW: Float64Array;
  /** Targets in processing order (node id, then input order); targetW capped like the limits. */
  targets: Array<DischargeTarget & { node: number }>;
  /** Position in `targets` of the first target on the session's path, or -1. */
  ownedBy: Int32Array;
  /** Position in `targets` of the first holding target on the session's path, or -1. */
  heldBy: Int32Array;
  held: Uint8Array;
  power: Float64Array;
  status: SessionStatus[];
  reason: Array<string | null>;
  /** Every session by (laxity, id); each ordering below is a linear pass over it, not another sort. */
  byLaxity: Int32Array;
  /** The waiting sessions by (since, laxity, id). */
  byWaiting: Int32Array;
};

function settle(k: Kernel, s: number, status: SessionStatus, reason: string | null): void {
  k.status[s] = status;
  k.reason[s] = reason;
}

/**
 * The charging routine over `members`, on the room left by the current flows. Members already
 * charging (an earlier pass) keep their setpoint as a floor.
 */
function charge(k: Kernel, members: number[]): void {
  if (members.length === 0) return;
  const { power, minW, maxW, rank } = k;
  const order = priorityOrder(k, members);
  const residual = new Float64Array(k.nodeCount);
  for (let j = 0; j < k.nodeCount; j++) residual[j] = k.importW[j]! - k.flow[j]!;

  const admitted: number[] = [];
  const waitingAdmitted = new Uint8Array(TIERS.length);
  for (const s of order) {
    const running = power[s]! > 0;
    const short = running ? -1 : firstShort(k, s, residual, minW[s]!);
    if (short === -1) {
      if (!running) {
        take(k, s, residual, minW[s]!);
        power[s] = minW[s]!;
      }
      admitted.push(s);
      if (k.rotationClass[s] === WAITING) waitingAdmitted[rank[s]!] = 1;
    } else {
      const rotated = k.rotationClass[s] === TURN_EXPIRED && waitingAdmitted[rank[s]!] === 1;
      settle(k, s, 'on_hold', rotated ? 'rotation' : `capacity:${k.nodeIds[short]!}`);
    }
  }

  // Least laxity first: the average power each car needs to leave charged, before any sharing.
  for (const s of laxityOrder(k, admitted)) {
    const want = Math.min(maxW[s]!, Math.max(power[s]!, k.requiredW[s]!)) - power[s]!;
    const give = Math.min(want, minOnPath(k, s, residual));
    if (give > 0) {
      take(k, s, residual, give);
      power[s] = power[s]! + give;
    }
  }

  for (let r = 0; r < TIERS.length; r++) {
    const tier = admitted.filter((s) => rank[s] === r);
    if (tier.length === 0) continue;
    const lo = gather(tier, power);
    const hi = gather(tier, maxW);
    const level = waterFill(k, tier, lo, hi, residual);
    topUp(k, tier, level, hi, residual);
    tier.forEach((s, i) => (power[s] = level[i]!));
  }

  for (let j = 0; j < k.nodeCount; j++) k.flow[j] = k.importW[j]! - residual[j]!;
  for (const s of admitted) {
    settle(k, s, 'charging', power[s] === maxW[s] ? null : `capacity:${bindingNode(k, s, residual)}`);
  }
}

/**
 * The discharge phase, target by target: admit the most flexible cars at their discharge minimum,
 * then share the rest of the target fairly. A target's room at its node is the smaller of its
 * export headroom and what is still missing to bring the node's net flow down to -targetW.
 */
function discharge(k: Kernel): boolean {
  let any = false;
  k.targets.forEach((target, q) => {
    // The most flexible first: laxity descending, then id; runs of equal laxity keep their id order.
    const candidates: number[] = [];
    const { byLaxity, laxityS } = k;
    for (let end = byLaxity.length; end > 0;) {
      let from = end - 1;
      while (from > 0 && laxityS[byLaxity[from - 1]!] === laxityS[byLaxity[end - 1]!]) from--;
      for (let p = from; p < end; p++) {
        const s = byLaxity[p]!;
        if (k.ownedBy[s] === q && k.dischargeMaxW[s]! > 0 && k.power[s] === 0) candidates.push(s);
      }
      end = from;
    }
    if (candidates.length === 0) return;

    const residual = new Float64Array(k.nodeCount);
    for (let j = 0; j < k.nodeCount; j++) residual[j] = k.flow[j]! + k.exportW[j]!;
    const node = target.node;
    residual[node] = Math.min(residual[node]!, Math.max(0, k.flow[node]! + target.targetW));

    const admitted: number[] = [];
    for (const s of candidates) {
      if (residual[node] === 0) break;
      if (firstShort(k, s, residual, k.dischargeMinW[s]!) === -1) {
        take(k, s, residual, k.dischargeMinW[s]!);
        admitted.push(s);
      }
    }
    if (admitted.length === 0) return;
    const lo = gather(admitted, k.dischargeMinW);
    const hi = gather(admitted, k.dischargeMaxW);
    const level = waterFill(k, admitted, lo, hi, residual);
    topUp(k, admitted, level, hi, residual);
    admitted.forEach((s, i) => {
      const fed = level[i]!;
      k.power[s] = -fed;
      for (let p = k.pathStart[s]!; p < k.pathStart[s + 1]!; p++) k.flow[k.path[p]!] = k.flow[k.path[p]!]! - fed;
      settle(k, s, 'discharging', `discharge:${target.source}`);
    });
    any = true;
  });
  return any;
}

/**
 * Raises each member's amount from lo[i] toward hi[i], max-min fair under the room `residual`
 * leaves at every node of its path, and takes what it gives from `residual`. Returns the new
 * amounts (indexed like `members`). Bottom-up: a node whose members' upper bounds do not fit finds
 * its water level and caps those bounds at it; its parent then sees the capped bounds.
 */
function waterFill(k: Kernel, members: readonly number[], lo: Float64Array, hi: Float64Array, residual: Float64Array): Float64Array {
  const { path, pathStart, nodeCount } = k;
  const m = members.length;
  // The members below each node, as one flat list: below[start[x] .. start[x + 1]).
  const start = new Int32Array(nodeCount + 1);
  for (const s of members) for (let p = pathStart[s]!; p < pathStart[s + 1]!; p++) start[path[p]! + 1]!++;
  for (let j = 0; j < nodeCount; j++) start[j + 1]! += start[j]!;
  const below = new Int32Array(start[nodeCount]!);
  const next = start.slice(0, nodeCount);
  members.forEach((s, i) => {
    for (let p = pathStart[s]!; p < pathStart[s + 1]!; p++) below[next[path[p]!]!++] = i;
  });

  const level = hi.slice();
  const loBuffer = new Float64Array(m);
  const hiBuffer = new Float64Array(m);
  for (const x of k.bottomUp) {
    const from = start[x]!;
    const to = start[x + 1]!;
    if (from === to) continue;
    let sumLo = 0;
    let sumHi = 0;
    for (let q = from; q < to; q++) {
      sumLo += lo[below[q]!]!;
      sumHi += level[below[q]!]!;
    }
    const room = residual[x]! + sumLo;
    if (sumHi <= room) continue;
    const los = loBuffer.subarray(0, to - from);
    const his = hiBuffer.subarray(0, to - from);
    for (let q = from; q < to; q++) {
      los[q - from] = lo[below[q]!]!;
      his[q - from] = level[below[q]!]!;
    }
    const cap = waterLevel(sorted(los), sorted(his), sumLo, room);
    for (let q = from; q < to; q++) {
      const i = below[q]!;
      if (level[i]! > cap) level[i] = Math.max(lo[i]!, cap);
    }
  }
  members.forEach((s, i) => {
    if (level[i]! > lo[i]!) take(k, s, residual, level[i]! - lo[i]!);
  });
  return level;
}

/**
 * The largest whole L with Σ clamp(L, lo_i, hi_i) <= room, given lo and hi sorted ascending,
 * Σ lo <= room < Σ hi. The sum is piecewise linear in L with its kinks at the lo and hi values:
 * walk the kinks to the last one that fits, then solve the linear piece after it.
 */
function waterLevel(lo: Float64Array, hi: Float64Array, sumLo: number, room: number): number {
  if (sumLo > room) throw new Error(`allocate: members' floors ${sumLo} W exceed the room ${room} W`);
  const m = lo.length;
  let i = 0;
  let j = 0;
  let loAbove = sumLo;
  let hiBelow = 0;
  let fitV = 0;
  let fitSum = 0;
  let fitActive = 0;
  for (;;) {
    const v = i < m && lo[i]! <= hi[j]! ? lo[i]! : hi[j]!;
    for (; i < m && lo[i]! <= v; i++) loAbove -= lo[i]!;
    for (; j < m && hi[j]! <= v; j++) hiBelow += hi[j]!;
    // Between this kink and the next, the members with lo <= v < hi grow with L.
    const active = i - j;
    const sum = loAbove + hiBelow + v * active;
    if (sum > room) return fitV + floorDiv(room - fitSum, fitActive);
    fitV = v;
    fitSum = sum;
    fitActive = active;
  }
}

/** Greedy top-up in the members' order: each takes what its path still has, up to its hi. */
function topUp(k: Kernel, members: readonly number[], amount: Float64Array, hi: Float64Array, residual: Float64Array): void {
  members.forEach((s, i) => {
    const give = Math.min(hi[i]! - amount[i]!, minOnPath(k, s, residual));
    if (give > 0) {
      take(k, s, residual, give);
      amount[i] = amount[i]! + give;
    }
  });
}

/** The first node on s's path, from s up, whose residual is below `need`; -1 when it fits everywhere. */
function firstShort(k: Kernel, s: number, residual: Float64Array, need: number): number {
  for (let p = k.pathStart[s]!; p < k.pathStart[s + 1]!; p++) {
    if (residual[k.path[p]!]! < need) return k.path[p]!;
  }
  return -1;
}

/** The node nearest s with no room left; after a top-up, every member below its max has one. */
function bindingNode(k: Kernel, s: number, residual: Float64Array): string {
  const node = firstShort(k, s, residual, 1);
  if (node === -1) throw new Error(`allocate: ${k.ids[s]!} is below its max with room left on its path`);
  return k.nodeIds[node]!;
}

function minOnPath(k: Kernel, s: number, residual: Float64Array): number {
  let min = Infinity;
  for (let p = k.pathStart[s]!; p < k.pathStart[s + 1]!; p++) min = Math.min(min, residual[k.path[p]!]!);
  return min;
}

/** Takes `watts` (whole watts, see types.ts) from the residual of every node on session s's path. */
function take(k: Kernel, s: number, residual: Float64Array, watts: number): void {
  for (let p = k.pathStart[s]!; p < k.pathStart[s + 1]!; p++) residual[k.path[p]!] = residual[k.path[p]!]! - watts;
}

/** floor(a / b) for safe integers a >= 0, b > 0, exact even where the float quotient rounds up. */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

function compare(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareIds(ids: string[], a: number, b: number): number {
  const x = ids[a]!;
  const y = ids[b]!;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The charging order: tier, then rotation class (a running turn, waiting, an expired turn), then
 * within the class laxity ascending (waiting: longest first, then laxity), then id.
 */
function priorityOrder(k: Kernel, members: readonly number[]): number[] {
  const inSet = new Uint8Array(k.sessionCount);
  for (const s of members) inSet[s] = 1;
  const groups: number[][] = Array.from({ length: TIERS.length * 3 }, () => []);
  for (const s of k.byLaxity) {
    if (inSet[s] && k.rotationClass[s] !== WAITING) groups[k.rank[s]! * 3 + k.rotationClass[s]!]!.push(s);
  }
  for (const s of k.byWaiting) if (inSet[s]) groups[k.rank[s]! * 3 + WAITING]!.push(s);
  return concat(groups);
}

/** Tier, then laxity ascending, then id. */
function laxityOrder(k: Kernel, members: readonly number[]): number[] {
  const inSet = new Uint8Array(k.sessionCount);
  for (const s of members) inSet[s] = 1;
  const tiers: number[][] = TIERS.map(() => []);
  for (const s of k.byLaxity) if (inSet[s]) tiers[k.rank[s]!]!.push(s);
  return concat(tiers);
}

/** Array.prototype.flat, without its cost on long lists. */
function concat(lists: number[][]): number[] {
  const out: number[] = [];
  for (const list of lists) for (const x of list) out.push(x);
  return out;
}

function gather(members: readonly number[], values: Float64Array): Float64Array {
  const out = new Float64Array(members.length);
  for (let i = 0; i < members.length; i++) out[i] = values[members[i]!]!;
  return out;
}

/** Sorts in place: insertion sort for the many small lists (chargers), the native sort otherwise. */
function sorted(values: Float64Array): Float64Array {
  if (values.length > 24) return values.sort();
  for (let i = 1; i < values.length; i++) {
    const v = values[i]!;
    let j = i - 1;
    for (; j >= 0 && values[j]! > v; j--) values[j + 1] = values[j]!;
    values[j + 1] = v;
  }
  return values;
}

/** `where` and `name` make the field's name only when it is wrong: 10,000 sessions, 7 fields each. */
function wholeNumber(where: string, name: string, value: unknown, min: number, minName?: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const field = where === '' ? name : `${where}.${name}`;
    throw new Error(`allocate: ${field} must be a safe integer >= ${minName ?? min}, got ${String(value)}`);
  }
  return value;
}

/** Validates the request (a bad one is a programming error of the caller) and flattens it. */
function prepare(request: AllocationRequest): Kernel {
  const at = wholeNumber('', 'at', request.at, 0);
  const rotationIntervalMs = wholeNumber('', 'rotationIntervalMs', request.rotationIntervalMs, 1);
  const promoteAfterMs = wholeNumber('', 'promoteAfterMs', request.promoteAfterMs, 1);
  const { nodes, sessions } = request;

  const nodeCount = nodes.length;
  const nodeIndex = new Map<string, number>();
  nodes.forEach((node, j) => {
    if (typeof node.id !== 'string' || nodeIndex.has(node.id)) throw new Error(`allocate: nodes[${j}].id ${String(node.id)} is missing or repeated`);
    nodeIndex.set(node.id, j);
  });
  const parent = new Int32Array(nodeCount);
  let roots = 0;
  nodes.forEach((node, j) => {
    if (node.parentId === null) {
      parent[j] = -1;
      roots++;
      return;
    }
    const p = nodeIndex.get(node.parentId);
    if (p === undefined) throw new Error(`allocate: nodes[${j}].parentId ${String(node.parentId)} is not a listed node`);
    parent[j] = p;
  });
  if (roots !== 1) throw new Error(`allocate: nodes must have exactly one root (parentId null), found ${roots}`);
  const depth = new Int32Array(nodeCount).fill(-1);
  const walk: number[] = [];
  for (let j = 0; j < nodeCount; j++) {
    let x = j;
    while (x !== -1 && depth[x] === -1) {
      walk.push(x);
      if (walk.length > nodeCount) throw new Error(`allocate: nodes[${j}].parentId leads round a cycle`);
      x = parent[x]!;
    }
    let d = x === -1 ? -1 : depth[x]!;
    while (walk.length > 0) depth[walk.pop()!] = ++d;
  }
  const bottomUp = new Int32Array(nodeCount);
  for (let j = 0; j < nodeCount; j++) bottomUp[j] = j;
  bottomUp.sort((a, b) => depth[b]! - depth[a]! || a - b);

  const sessionCount = sessions.length;
  const ids: string[] = [];
  const seen = new Set<string>();
  const pathStart = new Int32Array(sessionCount + 1);
  const home = new Int32Array(sessionCount);
  const rank = new Uint8Array(sessionCount);
  const rotationClass = new Uint8Array(sessionCount);
  const since = new Float64Array(sessionCount);
  const laxityS = new Float64Array(sessionCount);
  const minW = new Float64Array(sessionCount);
  const maxW = new Float64Array(sessionCount);
  const requiredW = new Float64Array(sessionCount);
  const wantsCharge = new Uint8Array(sessionCount);
  const dischargeMinW = new Float64Array(sessionCount);
  const dischargeMaxW = new Float64Array(sessionCount);
  let totalW = 0;
  sessions.forEach((session, s) => {
    const f = `sessions[${s}]`;
    if (typeof session.id !== 'string' || seen.has(session.id)) throw new Error(`allocate: ${f}.id ${String(session.id)} is missing or repeated`);
    seen.add(session.id);
    ids.push(session.id);
    const node = nodeIndex.get(session.nodeId);
    if (node === undefined) throw new Error(`allocate: ${f}.nodeId ${String(session.nodeId)} is not a listed node`);
    home[s] = node;
    pathStart[s + 1] = pathStart[s]! + depth[node]! + 1;
    if (!Object.hasOwn(RANK, session.tier)) throw new Error(`allocate: ${f}.tier ${String(session.tier)} is not one of ${TIERS.join(', ')}`);
    minW[s] = wholeNumber(f, 'minW', session.minW, 1);
    maxW[s] = wholeNumber(f, 'maxW', session.maxW, minW[s]!, 'minW');
    // Not capped at maxW here: rounding the need up and the maximum down can make it exceed it by a watt.
    requiredW[s] = wholeNumber(f, 'requiredW', session.requiredW, 0);
    if (typeof session.laxityS !== 'number' || !Number.isFinite(session.laxityS)) throw new Error(`allocate: ${f}.laxityS must be a finite number`);
    laxityS[s] = session.laxityS;
    if (typeof session.wantsCharge !== 'boolean') throw new Error(`allocate: ${f}.wantsCharge must be a boolean`);
    wantsCharge[s] = session.wantsCharge ? 1 : 0;
    if (session.discharge !== null) {
      dischargeMinW[s] = wholeNumber(f, 'discharge.minW', session.discharge.minW, 1);
      dischargeMaxW[s] = wholeNumber(f, 'discharge.maxW', session.discharge.maxW, dischargeMinW[s]!, 'discharge.minW');
    }
    totalW += maxW[s]! + dischargeMaxW[s]!;
    const state = session.rotation.state;
    if (state !== 'powered' && state !== 'waiting') throw new Error(`allocate: ${f}.rotation.state ${String(state)} is not powered or waiting`);
    since[s] = wholeNumber(f, 'rotation.since', session.rotation.since, 0);

    const waitedMs = at - since[s]!;
    let r = RANK[session.tier];
    if (r !== URGENT && state === 'waiting' && waitedMs >= promoteAfterMs) r = Math.max(HIGH, r - floorDiv(waitedMs, promoteAfterMs));
    rank[s] = r;
    rotationClass[s] = state === 'waiting' ? WAITING : r === URGENT || waitedMs < rotationIntervalMs ? TURN_RUNNING : TURN_EXPIRED;
  });
  if (totalW > MAX_TOTAL_W) throw new Error(`allocate: sessions' maxW and discharge.maxW add up to ${totalW} W, above ${MAX_TOTAL_W} W`);

  // A limit above everything the sessions could draw or feed never binds: capping it there keeps
  // every sum exact without changing the answer.
  const importW = new Float64Array(nodeCount);
  const exportW = new Float64Array(nodeCount);
  nodes.forEach((node, j) => {
    importW[j] = Math.min(totalW, wholeNumber(`nodes[${j}]`, 'importW', node.importW, 0));
    exportW[j] = Math.min(totalW, wholeNumber(`nodes[${j}]`, 'exportW', node.exportW, 0));
  });

  const path = new Int32Array(pathStart[sessionCount]!);
  for (let s = 0; s < sessionCount; s++) {
    for (let p = pathStart[s]!, x = home[s]!; x !== -1; p++, x = parent[x]!) path[p] = x;
  }

  const targets = request.discharge
    .map((target, t) => {
      const f = `discharge[${t}]`;
      const node = nodeIndex.get(target.nodeId);
      if (node === undefined) throw new Error(`allocate: ${f}.nodeId ${String(target.nodeId)} is not a listed node`);
      if (typeof target.holdOthers !== 'boolean') throw new Error(`allocate: ${f}.holdOthers must be a boolean`);
      if (typeof target.source !== 'string') throw new Error(`allocate: ${f}.source must be a string`);
      return { ...target, targetW: Math.min(totalW, wholeNumber(f, 'targetW', target.targetW, 0)), node, t };
    })
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.t - b.t))
    .map(({ t: _, ...target }) => target);
  const firstAt = new Int32Array(nodeCount).fill(-1);
  const firstHoldAt = new Int32Array(nodeCount).fill(-1);
  targets.forEach((target, q) => {
    if (firstAt[target.node] === -1) firstAt[target.node] = q;
    if (target.holdOthers && firstHoldAt[target.node] === -1) firstHoldAt[target.node] = q;
  });
  const ownedBy = new Int32Array(sessionCount).fill(-1);
  const heldBy = new Int32Array(sessionCount).fill(-1);
  if (targets.length > 0) {
    for (let s = 0; s < sessionCount; s++) {
      for (let p = pathStart[s]!; p < pathStart[s + 1]!; p++) {
        ownedBy[s] = earliest(ownedBy[s]!, firstAt[path[p]!]!);
        heldBy[s] = earliest(heldBy[s]!, firstHoldAt[path[p]!]!);
      }
    }
  }

  const byLaxity = new Int32Array(sessionCount);
  for (let s = 0; s < sessionCount; s++) byLaxity[s] = s;
  byLaxity.sort((a, b) => compare(laxityS[a]!, laxityS[b]!) || compareIds(ids, a, b));
  const laxityPos = new Int32Array(sessionCount);
  byLaxity.forEach((s, pos) => (laxityPos[s] = pos));
  const byWaiting = byLaxity.filter((s) => rotationClass[s] === WAITING).sort((a, b) => since[a]! - since[b]! || laxityPos[a]! - laxityPos[b]!);

  const k: Kernel = {
    nodeCount,
    nodeIds: nodes.map((node) => node.id),
    importW,
    exportW,
    bottomUp,
    flow: new Float64Array(nodeCount),
    sessionCount,
    ids,
    path,
    pathStart,
    rank,
    rotationClass,
    since,
    laxityS,
    minW,
    maxW,
    requiredW,
    wantsCharge,
    dischargeMinW,
    dischargeMaxW,
    targets,
    ownedBy,
    heldBy,
    held: new Uint8Array(sessionCount),
    power: new Float64Array(sessionCount),
    status: new Array<SessionStatus>(sessionCount).fill('on_hold'),
    reason: new Array<string | null>(sessionCount).fill(null),
    byLaxity,
    byWaiting,
  };
  return k;
}

function earliest(a: number, b: number): number {
  return a === -1 ? b : b === -1 ? a : Math.min(a, b);
}
