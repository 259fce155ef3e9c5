import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate } from './allocate.ts';
import { TIERS, type AllocationRequest, type AllocationResult, type AllocationSession, type DischargeTarget, type Tier } from './types.ts';

/**
 * Properties of the capacity adjuster over random sites. Everything the checks need is recomputed
 * here from the request and the setpoints (never from nodeFlowW or the kernel's own bookkeeping).
 * The state right after the urgent phase is obtained by allocating the urgent sessions alone, with no
 * discharge: the phases after it are the ones these properties are about.
 */
const RUNS = { numRuns: 400 };
const RANK: Record<Tier, number> = { urgent: 0, high: 1, normal: 2, low: 3 };
const SOURCES = ['request:dso-42', 'price', 'request:tso-7'];

const capArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 60_000 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 200_000 }) },
);

/** 1–40 nodes, depth up to 5, listed in a random order (a parent may come after its children). */
const treeArb = fc.integer({ min: 1, max: 40 }).chain((count) =>
  fc
    .record({
      parentPicks: fc.array(fc.nat(), { minLength: count - 1, maxLength: count - 1 }),
      importW: fc.array(capArb, { minLength: count, maxLength: count }),
      exportW: fc.array(capArb, { minLength: count, maxLength: count }),
      order: fc.shuffledSubarray([...Array(count).keys()], { minLength: count, maxLength: count }),
    })
    .map(({ parentPicks, importW, exportW, order }) => {
      const parent = [-1];
      const depth = [0];
      for (let i = 1; i < count; i++) {
        const eligible = [...Array(i).keys()].filter((j) => depth[j]! < 5);
        const p = eligible[parentPicks[i - 1]! % eligible.length]!;
        parent.push(p);
        depth.push(depth[p]! + 1);
      }
      return order.map((i) => ({ id: `n${i}`, parentId: i === 0 ? null : `n${parent[i]!}`, importW: importW[i]!, exportW: exportW[i]! }));
    }),
);

function sessionArb(nodeIds: string[], at: number, rotationIntervalMs: number, promoteAfterMs: number) {
  return fc
    .record({
      node: fc.constantFrom(...nodeIds),
      tier: fc.constantFrom(...TIERS),
      minW: fc.integer({ min: 1, max: 22_000 }),
      extraW: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30_000 })),
      wantsCharge: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      requiredW: fc.oneof(fc.constant(0), fc.nat({ max: 60_000 })),
      laxityS: fc.oneof(fc.integer({ min: -3_600, max: 3_600 }), fc.constantFrom(-60, 0, 600)),
      discharge: fc.option(fc.record({ minW: fc.integer({ min: 1, max: 11_000 }), extraW: fc.oneof(fc.constant(0), fc.nat({ max: 11_000 })) }), {
        freq: 2,
      }),
      state: fc.constantFrom('powered' as const, 'waiting' as const),
      agoMs: fc.oneof(fc.integer({ min: -rotationIntervalMs, max: 4 * promoteAfterMs }), fc.constantFrom(0, rotationIntervalMs, promoteAfterMs)),
    })
    .map((g): Omit<AllocationSession, 'id'> => ({
      nodeId: g.node,
      tier: g.tier,
      minW: g.minW,
      maxW: g.minW + g.extraW,
      wantsCharge: g.wantsCharge,
      requiredW: Math.min(g.requiredW, g.minW + g.extraW),
      laxityS: g.laxityS,
      discharge: g.discharge && { minW: g.discharge.minW, maxW: g.discharge.minW + g.discharge.extraW },
      rotation: { state: g.state, since: Math.max(0, at - g.agoMs) },
    }));
}

const requestArb: fc.Arbitrary<AllocationRequest> = fc
  .record({
    at: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    rotationIntervalMs: fc.integer({ min: 1, max: 3_600_000 }),
    promoteAfterMs: fc.integer({ min: 1, max: 7_200_000 }),
    nodes: treeArb,
  })
  .chain(({ at, rotationIntervalMs, promoteAfterMs, nodes }) => {
    const nodeIds = nodes.map((n) => n.id);
    return fc
      .record({
        sessions: fc.array(sessionArb(nodeIds, at, rotationIntervalMs, promoteAfterMs), { maxLength: 60, size: 'max' }),
        discharge: fc.array(
          fc.record({
            // The root ('n0') half the time: most sessions are below it.
            nodeId: fc.oneof(fc.constant('n0'), fc.constantFrom(...nodeIds)),
            targetW: fc.oneof(fc.constant(0), fc.nat({ max: 150_000 })),
            holdOthers: fc.boolean(),
            source: fc.constantFrom(...SOURCES),
          }),
          { maxLength: 2 },
        ),
      })
      .map(({ sessions, discharge }) => ({
        at,
        rotationIntervalMs,
        promoteAfterMs,
        nodes,
        sessions: sessions.map((s, i) => ({ id: `s${i}`, ...s })),
        discharge,
      }));
  });

/** What the checks need about a request: paths, targets in processing order, flows from setpoints. */
function siteOf(request: AllocationRequest) {
  const node = new Map(request.nodes.map((n) => [n.id, n]));
  const pathOf = (nodeId: string): string[] => {
    const path: string[] = [];
    for (let id: string | null = nodeId; id !== null; id = node.get(id)!.parentId) path.push(id);
    return path;
  };
  const paths = new Map(request.sessions.map((s) => [s.id, pathOf(s.nodeId)]));
  const targets = request.discharge
    .map((t, i) => ({ t, i }))
    .sort((a, b) => (a.t.nodeId < b.t.nodeId ? -1 : a.t.nodeId > b.t.nodeId ? 1 : a.i - b.i))
    .map(({ t }) => t);
  const flows = (powerOf: (s: AllocationSession) => number): Map<string, number> => {
    const flow = new Map(request.nodes.map((n) => [n.id, 0]));
    for (const s of request.sessions) for (const id of paths.get(s.id)!) flow.set(id, flow.get(id)! + powerOf(s));
    return flow;
  };
  const ownerOf = (s: AllocationSession): DischargeTarget | undefined => targets.find((t) => paths.get(s.id)!.includes(t.nodeId));
  const holderOf = (s: AllocationSession): DischargeTarget | undefined => targets.find((t) => t.holdOthers && paths.get(s.id)!.includes(t.nodeId));
  return { node, paths, targets, flows, ownerOf, holderOf };
}

function expectedRank(request: AllocationRequest, s: AllocationSession): number {
  const rank = RANK[s.tier];
  if (rank === 0 || s.rotation.state !== 'waiting' || request.at <= s.rotation.since) return rank;
  return Math.max(1, rank - Number(BigInt(request.at - s.rotation.since) / BigInt(request.promoteAfterMs)));
}

/** 0: a turn still running, 1: waiting, 2: a turn that has expired. */
function rotationClass(request: AllocationRequest, s: AllocationSession): number {
  if (s.rotation.state === 'waiting') return 1;
  return expectedRank(request, s) === 0 || request.at - s.rotation.since < request.rotationIntervalMs ? 0 : 2;
}

/** The urgent phase alone: the urgent sessions that want charge, with nothing to discharge for. */
function urgentPhase(request: AllocationRequest): Map<string, number> {
  const urgent = request.sessions.filter((s) => s.tier === 'urgent' && s.wantsCharge).map((s) => ({ ...s, discharge: null }));
  const result = allocate({ ...request, sessions: urgent, discharge: [] });
  return new Map(result.sessions.map((a) => [a.sessionId, a.powerW]));
}

function analyse(request: AllocationRequest) {
  const result = allocate(request);
  const site = siteOf(request);
  const out = new Map(result.sessions.map((a) => [a.sessionId, a]));
  const power = (s: AllocationSession) => out.get(s.id)!.powerW;
  const urgentPower = urgentPhase(request);
  const flow = site.flows(power);
  /** Flows right after the urgent phase, and after the discharge phase. */
  const flow3 = site.flows((s) => urgentPower.get(s.id) ?? 0);
  const flow4 = site.flows((s) => (urgentPower.get(s.id) ?? 0) + Math.min(0, power(s)));
  /** Urgent sessions under a holding request keep what the urgent phase gave them. */
  const frozen = (s: AllocationSession) => s.tier === 'urgent' && site.holderOf(s) !== undefined;
  return { result, site, out, power, urgentPower, flow, flow3, flow4, frozen };
}

/**
 * The reference max-min fair share by progressive filling, in real numbers: raise a common water
 * level (each car at clamp(level, lo, hi)) until some node fills, freeze the cars through it, repeat.
 * Independent of the kernel's bottom-up method, and slow (fine for 60 cars).
 */
function maxMinFair(members: Array<{ path: string[]; lo: number; hi: number }>, cap: Map<string, number>): number[] {
  const value = members.map((m) => m.lo);
  const frozen = members.map((m) => m.lo >= m.hi);
  const through = new Map([...cap.keys()].map((id) => [id, members.flatMap((m, i) => (m.path.includes(id) ? [i] : []))]));
  const EPS = 1e-6;
  for (;;) {
    let level = Infinity;
    for (const [id, c] of cap) {
      const free = through.get(id)!.filter((i) => !frozen[i]);
      if (free.length === 0) continue;
      const fixed = through.get(id)!.reduce((sum, i) => sum + (frozen[i] ? value[i]! : 0), 0);
      level = Math.min(
        level,
        fillLevel(
          free.map((i) => members[i]!),
          c - fixed,
        ),
      );
    }
    const free = members.flatMap((_, i) => (frozen[i] ? [] : [i]));
    if (free.length === 0) return value;
    for (const i of free) value[i] = Math.min(members[i]!.hi, Math.max(members[i]!.lo, level));
    for (const [id, c] of cap) {
      const sum = through.get(id)!.reduce((s, i) => s + value[i]!, 0);
      if (sum >= c - EPS) for (const i of through.get(id)!) frozen[i] = true;
    }
    for (const i of free) if (value[i]! >= members[i]!.hi - EPS) frozen[i] = true;
  }
}

/** The lowest level at which Σ clamp(level, lo, hi) reaches `room` (Infinity if it never does). */
function fillLevel(members: Array<{ lo: number; hi: number }>, room: number): number {
  const sumOf = (level: number) => members.reduce((s, m) => s + Math.min(m.hi, Math.max(m.lo, level)), 0);
  const kinks = [...new Set(members.flatMap((m) => [m.lo, m.hi]))].sort((a, b) => a - b);
  if (sumOf(kinks[0]!) >= room) return -Infinity;
  for (let k = 1; k < kinks.length; k++) {
    const at = sumOf(kinks[k]!);
    if (at >= room) {
      const before = sumOf(kinks[k - 1]!);
      return kinks[k - 1]! + ((room - before) * (kinks[k]! - kinks[k - 1]!)) / (at - before);
    }
  }
  return Infinity;
}

describe('allocate (properties)', () => {
  it('keeps every node within its limits in both directions, and reports the flows it produced', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const { result, flow } = analyse(request);
        expect(result.sessions.map((a) => a.sessionId)).toEqual(request.sessions.map((s) => s.id));
        expect([...result.nodeFlowW.keys()].sort()).toEqual(request.nodes.map((n) => n.id).sort());
        for (const n of request.nodes) {
          expect(result.nodeFlowW.get(n.id)).toBe(flow.get(n.id));
          expect(flow.get(n.id)!, `import at ${n.id}`).toBeLessThanOrEqual(n.importW);
          expect(flow.get(n.id)!, `export at ${n.id}`).toBeGreaterThanOrEqual(-n.exportW);
        }
        expect(result.at).toBe(request.at);
      }),
      RUNS,
    );
  });

  it('gives each session 0 or a setpoint within its bounds, with a status and reason that match', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const { out, site } = analyse(request);
        for (const s of request.sessions) {
          const a = out.get(s.id)!;
          expect(a.effectiveTier).toBe(TIERS[expectedRank(request, s)]);
          expect(Number.isSafeInteger(a.powerW)).toBe(true);
          switch (a.status) {
            case 'charging':
              expect(s.wantsCharge).toBe(true);
              expect(a.powerW).toBeGreaterThanOrEqual(s.minW);
              expect(a.powerW).toBeLessThanOrEqual(s.maxW);
              if (a.powerW === s.maxW) expect(a.reason).toBeNull();
              else expect(site.paths.get(s.id)!.map((id) => `capacity:${id}`)).toContain(a.reason);
              break;
            case 'discharging':
              expect(s.discharge).not.toBeNull();
              expect(a.powerW).toBeLessThanOrEqual(-s.discharge!.minW);
              expect(a.powerW).toBeGreaterThanOrEqual(-s.discharge!.maxW);
              expect(a.reason).toBe(`discharge:${site.ownerOf(s)!.source}`);
              break;
            case 'done':
              expect(s.wantsCharge).toBe(false);
              expect(a.powerW).toBe(0);
              expect(a.reason).toBe('energy_delivered');
              break;
            case 'on_hold':
              expect(s.wantsCharge).toBe(true);
              expect(a.powerW).toBe(0);
              expect(a.reason === 'rotation' || /^(capacity|discharge):/.test(a.reason ?? '')).toBe(true);
              if (a.reason?.startsWith('capacity:')) expect(site.paths.get(s.id)).toContain(a.reason.slice('capacity:'.length));
              // 'rotation' exactly when its turn had expired and a waiting car of its tier was let in.
              if (a.reason === 'rotation' || a.reason?.startsWith('capacity:')) {
                const rotated =
                  rotationClass(request, s) === 2 &&
                  request.sessions.some((x) => out.get(x.id)!.status === 'charging' && out.get(x.id)!.effectiveTier === a.effectiveTier && rotationClass(request, x) === 1);
                expect(a.reason === 'rotation', `${s.id}: ${a.reason}`).toBe(rotated);
              }
              if (a.reason?.startsWith('discharge:')) {
                expect(s.tier).not.toBe('urgent');
                expect(a.reason).toBe(`discharge:${site.holderOf(s)!.source}`);
              }
              break;
            default: {
              const unreachable: never = a.status;
              throw new Error(`unknown status ${String(unreachable)}`);
            }
          }
          if (!s.wantsCharge) expect(a.powerW).toBeLessThanOrEqual(0);
          // A holding request holds everyone below it that is not urgent, discharging or done.
          if (site.holderOf(s) && s.tier !== 'urgent' && s.wantsCharge && a.status !== 'discharging') {
            expect(a.reason).toBe(`discharge:${site.holderOf(s)!.source}`);
          }
        }
      }),
      RUNS,
    );
  });

  it('never powers a lower tier while a higher one that would fit is on hold', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const { out, site, power, urgentPower, frozen } = analyse(request);
        for (const s of request.sessions) {
          const a = out.get(s.id)!;
          if (a.status !== 'on_hold' || !(a.reason === 'rotation' || a.reason!.startsWith('capacity:'))) continue;
          const rank = RANK[a.effectiveTier];
          const flow = frozen(s)
            ? site.flows((x) => urgentPower.get(x.id) ?? 0)
            : site.flows((x) => {
                const other = out.get(x.id)!;
                return other.status === 'charging' && RANK[other.effectiveTier] > rank ? 0 : power(x);
              });
          const fits = site.paths.get(s.id)!.every((id) => site.node.get(id)!.importW - flow.get(id)! >= s.minW);
          expect(fits, `${s.id} (${a.effectiveTier}) is on hold but fits`).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('is work-conserving: whoever could charge more is stopped by a full node', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const { out, site, flow, flow3, frozen, urgentPower } = analyse(request);
        for (const s of request.sessions) {
          const a = out.get(s.id)!;
          const eligible = s.wantsCharge && a.status !== 'discharging' && !a.reason?.startsWith('discharge:');
          if (!eligible || a.powerW === s.maxW) continue;
          const f = frozen(s) ? flow3 : flow;
          const room = (id: string) => site.node.get(id)!.importW - f.get(id)!;
          const path = site.paths.get(s.id)!;
          if (a.status === 'charging') {
            expect(
              path.some((id) => room(id) <= 0),
              `${s.id} charges below max with room on its path`,
            ).toBe(true);
            expect(room(a.reason!.slice('capacity:'.length))).toBeLessThanOrEqual(0);
          } else {
            expect(a.status).toBe('on_hold');
            expect(
              path.some((id) => room(id) < s.minW),
              `${s.id} is on hold with room for its min`,
            ).toBe(true);
            if (a.reason!.startsWith('capacity:')) expect(room(a.reason!.slice('capacity:'.length))).toBeLessThan(s.minW);
          }
          // An urgent car under a holding request keeps exactly what the urgent phase gave it.
          if (frozen(s)) expect(a.powerW).toBe(urgentPower.get(s.id));
        }
        // The second urgent pass only ever adds.
        for (const [id, p] of urgentPower) if (p > 0) expect(out.get(id)!.powerW).toBeGreaterThanOrEqual(p);
      }),
      RUNS,
    );
  });

  it('shares max-min fairly per tier, within a few watts of the exact (real-valued) answer', () => {
    // No required averages and no discharge: every charging car's floor is then its minW.
    const plain = requestArb.map((request) => ({ ...request, discharge: [], sessions: request.sessions.map((s) => ({ ...s, requiredW: 0 })) }));
    fc.assert(
      fc.property(plain, (request) => {
        const { out, site, power } = analyse(request);
        const charging = request.sessions.filter((s) => out.get(s.id)!.status === 'charging');
        const rankOf = (s: AllocationSession) => RANK[out.get(s.id)!.effectiveTier];
        for (let r = 0; r < TIERS.length; r++) {
          const tier = charging.filter((s) => rankOf(s) === r);
          if (tier.length === 0) continue;
          // What the tier shares: the limits less the urgent phase (for r > 0), the higher tiers and the lower tiers' floors.
          const taken = site.flows((s) => {
            if (out.get(s.id)!.status !== 'charging' || rankOf(s) === r || (r === 0 && rankOf(s) > 0)) return 0;
            return rankOf(s) < r ? power(s) : s.minW;
          });
          const cap = new Map(request.nodes.map((n) => [n.id, n.importW - taken.get(n.id)!]));
          const exact = maxMinFair(
            tier.map((s) => ({ path: site.paths.get(s.id)!, lo: s.minW, hi: s.maxW })),
            cap,
          );
          tier.forEach((s, i) => expect(Math.abs(power(s) - exact[i]!), `${s.id}: ${power(s)} W, exact ${exact[i]}`).toBeLessThanOrEqual(tier.length + 6));
        }
      }),
      RUNS,
    );
  });

  it('is deterministic: copies, repeats and any order of sessions and nodes give the same answer', () => {
    // Twins (equal in everything but the id) make ties that only the id may settle.
    const withOrders = requestArb
      .map((request) => ({ ...request, sessions: [...request.sessions, ...request.sessions.slice(0, 10).map((s) => ({ ...s, id: `${s.id}-twin` }))] }))
      .chain((request) =>
        fc.tuple(
          fc.constant(request),
          fc.shuffledSubarray(request.sessions, { minLength: request.sessions.length, maxLength: request.sessions.length }),
          fc.shuffledSubarray(request.nodes, { minLength: request.nodes.length, maxLength: request.nodes.length }),
        ),
      );
    fc.assert(
      fc.property(withOrders, ([request, sessions, nodes]) => {
        const copy = structuredClone(request);
        const first = allocate(request);
        expect(request).toEqual(copy);
        expect(allocate(copy)).toEqual(first);
        expect(allocate(request)).toEqual(first);
        const shuffled = allocate({ ...request, sessions, nodes });
        const byId = (r: AllocationResult) => new Map(r.sessions.map((a) => [a.sessionId, a]));
        expect(byId(shuffled)).toEqual(byId(first));
        expect(new Map([...shuffled.nodeFlowW].sort())).toEqual(new Map([...first.nodeFlowW].sort()));
      }),
      { numRuns: 200 },
    );
  });

  it('discharges toward each target without overshooting it, stopping only at the target or an export limit', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const { out, site, power, urgentPower, flow3, flow4 } = analyse(request);
        const fedUnder = site.flows((s) => -Math.min(0, power(s)));
        site.targets.forEach((target) => {
          const own = request.sessions.filter((s) => site.ownerOf(s) === target);
          const fed = own.reduce((sum, s) => sum - Math.min(0, power(s)), 0);
          // Other targets' discharge below this node was placed before it and counts toward it.
          const missing = Math.max(0, target.targetW + flow3.get(target.nodeId)! - (fedUnder.get(target.nodeId)! - fed));
          expect(fed, `discharge for ${target.nodeId}`).toBeLessThanOrEqual(missing);
          const headroom = (id: string) => flow4.get(id)! + site.node.get(id)!.exportW;
          for (const s of own) {
            const a = out.get(s.id)!;
            const candidate = s.discharge !== null && !(urgentPower.get(s.id)! > 0);
            if (a.powerW < 0) expect(candidate).toBe(true);
            if (!candidate || -a.powerW === s.discharge!.maxW) continue;
            const path = site.paths.get(s.id)!;
            if (a.powerW < 0) {
              expect(fed === missing || path.some((id) => headroom(id) <= 0), `${s.id} could feed more`).toBe(true);
            } else {
              const need = s.discharge!.minW;
              expect(missing - fed < need || path.some((id) => headroom(id) < need), `${s.id} could have been admitted`).toBe(true);
            }
          }
        });
        // Nobody discharges without a target above them.
        for (const s of request.sessions) if (power(s) < 0) expect(site.ownerOf(s)).toBeDefined();
      }),
      RUNS,
    );
  });

  it('rotates: with room for k of n equal cars, every car has had a turn within ceil(n/k)+1 rounds', () => {
    const scenario = fc.record({
      n: fc.integer({ min: 2, max: 20 }),
      kShare: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      minW: fc.integer({ min: 1, max: 11_000 }),
      extraW: fc.oneof(fc.constant(0), fc.nat({ max: 11_000 })),
      slackShare: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      rotationIntervalMs: fc.integer({ min: 1, max: 3_600_000 }),
      promoteAfterMs: fc.integer({ min: 1, max: 7_200_000 }),
      start: fc.integer({ min: 10_000_000, max: 4_000_000_000_000 }),
      laxities: fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 20, maxLength: 20 }),
      initial: fc.array(fc.record({ state: fc.constantFrom('powered' as const, 'waiting' as const), agoMs: fc.nat({ max: 10_000_000 }) }), {
        minLength: 20,
        maxLength: 20,
      }),
    });
    fc.assert(
      fc.property(scenario, (c) => {
        const k = 1 + Math.floor(c.kShare * (c.n - 1));
        // Room for k minimums and less than one more, so exactly k run each round.
        const importW = k * c.minW + Math.floor(c.slackShare * c.minW);
        let at = c.start;
        let rotation = Array.from({ length: c.n }, (_, i) => ({ state: c.initial[i]!.state, since: at - c.initial[i]!.agoMs }));
        const served = new Set<string>();
        const rounds = Math.ceil(c.n / k) + 1;
        for (let round = 0; round < rounds; round++) {
          const result = allocate({
            at,
            rotationIntervalMs: c.rotationIntervalMs,
            promoteAfterMs: c.promoteAfterMs,
            discharge: [],
            nodes: [
              { id: 'site', parentId: null, importW, exportW: 0 },
              { id: 'bay', parentId: 'site', importW: importW + 1, exportW: 0 },
            ],
            sessions: rotation.map((r, i) => ({
              id: `car-${i}`,
              nodeId: 'bay',
              tier: 'normal' as const,
              minW: c.minW,
              maxW: c.minW + c.extraW,
              wantsCharge: true,
              requiredW: 0,
              laxityS: c.laxities[i]!,
              discharge: null,
              rotation: r,
            })),
          });
          expect(result.sessions.filter((a) => a.powerW > 0)).toHaveLength(k);
          // The site's bookkeeping: a turn starts when power starts, a wait when it stops.
          rotation = result.sessions.map((a, i) => {
            const was = rotation[i]!;
            if (a.powerW > 0) served.add(a.sessionId);
            const state = a.powerW > 0 ? ('powered' as const) : ('waiting' as const);
            return state === was.state ? was : { state, since: at };
          });
          at += c.rotationIntervalMs;
        }
        expect(served.size).toBe(c.n);
      }),
      RUNS,
    );
  });
});
