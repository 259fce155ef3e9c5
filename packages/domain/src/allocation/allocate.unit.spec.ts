import { describe, expect, it } from 'vitest';
import { Decimal } from '../values/index.ts';
import { allocate, ceilWatts, floorWatts } from './allocate.ts';
import type { AllocationNode, AllocationRequest, AllocationSession, DischargeTarget } from './types.ts';

const AT = 1_764_000_000_000;
const TURN_MS = 15 * 60_000;
const PROMOTE_MS = 30 * 60_000;

/** A normal-tier car at 'cp' that wants 1–11 kW, its turn just started. */
function car(id: string, over: Partial<AllocationSession> = {}): AllocationSession {
  return {
    id,
    nodeId: 'cp',
    tier: 'normal',
    minW: 1000,
    maxW: 11_000,
    wantsCharge: true,
    requiredW: 0,
    laxityS: 3600,
    discharge: null,
    rotation: { state: 'powered', since: AT },
    ...over,
  };
}

function node(id: string, parentId: string | null, importW: number, exportW = 0): AllocationNode {
  return { id, parentId, importW, exportW };
}

/** A site: the root with `rootImportW`, and a connector 'cp' below it that never binds. */
function request(rootImportW: number, sessions: AllocationSession[], over: Partial<AllocationRequest> = {}): AllocationRequest {
  return {
    at: AT,
    rotationIntervalMs: TURN_MS,
    promoteAfterMs: PROMOTE_MS,
    nodes: [node('root', null, rootImportW), node('cp', 'root', 1_000_000)],
    sessions,
    discharge: [],
    ...over,
  };
}

/** sessionId → [powerW, status, reason]: what a person would read off the result. */
function outcome(req: AllocationRequest) {
  return Object.fromEntries(allocate(req).sessions.map((a) => [a.sessionId, [a.powerW, a.status, a.reason]]));
}

describe('allocate: sharing', () => {
  it('shares a binding limit evenly to the watt, the spare watt to the first in priority order', () => {
    const result = allocate(request(22_000, [car('c'), car('a'), car('b')]));
    expect(result.sessions.map((a) => [a.sessionId, a.powerW, a.reason])).toEqual([
      ['c', 7333, 'capacity:root'],
      ['a', 7334, 'capacity:root'],
      ['b', 7333, 'capacity:root'],
    ]);
    expect(result.nodeFlowW).toEqual(
      new Map([
        ['root', 22_000],
        ['cp', 22_000],
      ]),
    );
  });

  it('is max-min fair over nested limits: a tight feeder frees room for the others', () => {
    const nodes = [node('root', null, 30_000), node('f1', 'root', 10_000), node('f2', 'root', 40_000)];
    const sessions = [car('x1', { nodeId: 'f1' }), car('x2', { nodeId: 'f1' }), car('y1', { nodeId: 'f2' }), car('y2', { nodeId: 'f2' })];
    expect(outcome(request(0, sessions, { nodes }))).toEqual({
      x1: [5000, 'charging', 'capacity:f1'],
      x2: [5000, 'charging', 'capacity:f1'],
      y1: [10_000, 'charging', 'capacity:root'],
      y2: [10_000, 'charging', 'capacity:root'],
    });
  });

  it('charges at max with no reason when the limit does not bind', () => {
    expect(outcome(request(100_000, [car('a'), car('b', { maxW: 7400 })]))).toEqual({
      a: [11_000, 'charging', null],
      b: [7400, 'charging', null],
    });
  });

  it('serves the required average of the least-laxity car before sharing the rest', () => {
    const sessions = [car('relaxed', { laxityS: 5000 }), car('tight', { laxityS: 60, requiredW: 9000 })];
    // Admission 1 kW each; 'tight' is raised to 9 kW; the last 2 kW go to 'relaxed' (level 3 kW).
    expect(outcome(request(12_000, sessions))).toEqual({
      relaxed: [3000, 'charging', 'capacity:root'],
      tight: [9000, 'charging', 'capacity:root'],
    });
  });
});

describe('allocate: who runs at all', () => {
  it('serves a higher tier first, in admission and in sharing', () => {
    const sessions = [car('low', { tier: 'low' }), car('normal', { minW: 6000 }), car('high', { tier: 'high', minW: 6000 })];
    // Admission: high 6 kW, normal 6 kW, low 1 kW; then high fills to max, normal takes the rest.
    expect(outcome(request(20_000, sessions))).toEqual({
      low: [1000, 'charging', 'capacity:root'],
      normal: [8000, 'charging', 'capacity:root'],
      high: [11_000, 'charging', null],
    });
    expect(outcome(request(12_000, sessions)).low).toEqual([0, 'on_hold', 'capacity:root']);
  });

  it('admits a car at its minimum or not at all, least laxity first', () => {
    const sessions = [car('later', { minW: 6000, laxityS: 200 }), car('sooner', { minW: 6000, laxityS: 100 })];
    expect(outcome(request(10_000, sessions))).toEqual({
      later: [0, 'on_hold', 'capacity:root'],
      sooner: [10_000, 'charging', 'capacity:root'],
    });
  });

  it('names the first node from the car up that lacks room', () => {
    const nodes = [node('root', null, 5000), node('feeder', 'root', 3000), node('cp', 'feeder', 2000)];
    expect(outcome(request(0, [car('a', { minW: 2500 })], { nodes })).a).toEqual([0, 'on_hold', 'capacity:cp']);
    expect(outcome(request(0, [car('a', { minW: 1500 }), car('b', { minW: 1500, laxityS: 9999 })], { nodes })).b).toEqual([0, 'on_hold', 'capacity:cp']);
  });

  it('rotates: a waiting car goes before one whose turn has expired, but not before a running turn', () => {
    const waiting = car('waiting', { minW: 6000, laxityS: 9999, rotation: { state: 'waiting', since: AT - 60_000 } });
    const expired = car('expired', { minW: 6000, rotation: { state: 'powered', since: AT - 2 * TURN_MS } });
    const running = car('running', { minW: 6000, rotation: { state: 'powered', since: AT - TURN_MS + 1 } });
    expect(outcome(request(10_000, [expired, waiting]))).toEqual({
      expired: [0, 'on_hold', 'rotation'],
      waiting: [10_000, 'charging', 'capacity:root'],
    });
    expect(outcome(request(10_000, [running, waiting]))).toEqual({
      running: [10_000, 'charging', 'capacity:root'],
      waiting: [0, 'on_hold', 'capacity:root'],
    });
  });

  it('promotes a car one tier per promoteAfterMs of waiting, never above high', () => {
    const tierAfter = (tier: AllocationSession['tier'], waitedMs: number) =>
      allocate(request(100_000, [car('a', { tier, rotation: { state: 'waiting', since: AT - waitedMs } })])).sessions[0]!.effectiveTier;
    expect(tierAfter('low', PROMOTE_MS - 1)).toBe('low');
    expect(tierAfter('low', PROMOTE_MS)).toBe('normal');
    expect(tierAfter('low', 2 * PROMOTE_MS)).toBe('high');
    expect(tierAfter('low', 10 * PROMOTE_MS)).toBe('high');
    expect(tierAfter('high', 10 * PROMOTE_MS)).toBe('high');
    expect(tierAfter('urgent', 10 * PROMOTE_MS)).toBe('urgent');

    const promoted = car('long-wait', { tier: 'low', minW: 6000, rotation: { state: 'waiting', since: AT - 2 * PROMOTE_MS } });
    const normal = car('normal', { minW: 6000, laxityS: -600 });
    expect(outcome(request(6000, [normal, promoted]))).toEqual({
      normal: [0, 'on_hold', 'capacity:root'],
      'long-wait': [6000, 'charging', 'capacity:root'],
    });
  });

  it('gives nothing to a car whose energy is delivered', () => {
    expect(outcome(request(100_000, [car('full', { wantsCharge: false, tier: 'urgent' })]))).toEqual({
      full: [0, 'done', 'energy_delivered'],
    });
  });
});

describe('allocate: discharge', () => {
  const nodes = [node('root', null, 50_000, 30_000), node('f', 'root', 40_000, 20_000), node('g', 'root', 40_000, 20_000)];
  const bidirectional = { minW: 1000, maxW: 10_000 };
  const sessions = [
    car('urgent', { nodeId: 'f', tier: 'urgent', maxW: 7000 }),
    car('flexible', { nodeId: 'f', laxityS: 7200, discharge: bidirectional }),
    car('less-flexible', { nodeId: 'f', laxityS: 3600, discharge: bidirectional }),
    car('other', { nodeId: 'f' }),
    car('elsewhere', { nodeId: 'g' }),
  ];
  const dso: DischargeTarget = { nodeId: 'f', targetW: 10_000, holdOthers: true, source: 'request:dso-42' };

  it("meets a grid operator's request at its node net of the urgent draw, and holds the others below it", () => {
    // The urgent car takes 7 kW first; 17 kW of discharge brings f to -10 kW, shared 8.5 kW each.
    const result = allocate(request(0, sessions, { nodes, discharge: [dso] }));
    expect(Object.fromEntries(result.sessions.map((a) => [a.sessionId, [a.powerW, a.status, a.reason]]))).toEqual({
      urgent: [7000, 'charging', null],
      flexible: [-8500, 'discharging', 'discharge:request:dso-42'],
      'less-flexible': [-8500, 'discharging', 'discharge:request:dso-42'],
      other: [0, 'on_hold', 'discharge:request:dso-42'],
      elsewhere: [11_000, 'charging', null],
    });
    expect(result.nodeFlowW.get('f')).toBe(-10_000);
  });

  it('admits the most flexible car first and stops once the target is met', () => {
    const fixed = { minW: 3000, maxW: 3000 };
    const target: DischargeTarget = { nodeId: 'root', targetW: 3000, holdOthers: false, source: 'price' };
    const cars = [car('less-flexible', { laxityS: 100, wantsCharge: false, discharge: fixed }), car('flexible', { laxityS: 9000, wantsCharge: false, discharge: fixed })];
    expect(outcome(request(10_000, cars, { nodes: [node('root', null, 10_000, 10_000), node('cp', 'root', 10_000, 10_000)], discharge: [target] }))).toEqual({
      'less-flexible': [0, 'done', 'energy_delivered'],
      flexible: [-3000, 'discharging', 'discharge:price'],
    });
  });

  it('stops at an export limit on the way up', () => {
    const tight = [node('root', null, 50_000, 30_000), node('f', 'root', 40_000, 4000), node('g', 'root', 40_000, 20_000)];
    const result = allocate(request(0, sessions, { nodes: tight, discharge: [dso] }));
    // f may export 4 kW net: 7 kW of urgent draw plus 4 kW, shared 5.5 kW each.
    expect(result.sessions.filter((a) => a.status === 'discharging').map((a) => a.powerW)).toEqual([-5500, -5500]);
    expect(result.nodeFlowW.get('f')).toBe(-4000);
  });

  it('on a price signal lets the others below the node charge, on the room the discharge frees', () => {
    const price: DischargeTarget = { ...dso, holdOthers: false, source: 'price' };
    const result = outcome(request(0, sessions, { nodes, discharge: [price] }));
    expect(result.other).toEqual([11_000, 'charging', null]);
    expect(result.flexible).toEqual([-8500, 'discharging', 'discharge:price']);
  });

  it('serves an urgent car on hold again once discharge frees room, before any lower tier', () => {
    const site = [node('root', null, 10_000, 10_000), node('cp', 'root', 100_000, 100_000)];
    const cars = [car('urgent', { tier: 'urgent', minW: 11_000, maxW: 11_000 }), car('feeder', { wantsCharge: false, discharge: { minW: 1000, maxW: 5000 } }), car('normal')];
    const price: DischargeTarget = { nodeId: 'root', targetW: 5000, holdOthers: false, source: 'price' };
    // Discharge takes the root to -5 kW: room for 15 kW, of which the urgent car takes 11.
    expect(outcome(request(0, cars, { nodes: site, discharge: [price] }))).toEqual({
      urgent: [11_000, 'charging', null],
      feeder: [-5000, 'discharging', 'discharge:price'],
      normal: [4000, 'charging', 'capacity:root'],
    });
    // Under a grid operator's request the freed room is the operator's: the urgent car keeps its place.
    expect(outcome(request(0, cars, { nodes: site, discharge: [{ ...price, holdOthers: true, source: 'request:dso-1' }] }))).toEqual({
      urgent: [0, 'on_hold', 'capacity:root'],
      feeder: [-5000, 'discharging', 'discharge:request:dso-1'],
      normal: [0, 'on_hold', 'discharge:request:dso-1'],
    });
  });
});

describe('allocate: input', () => {
  const ok = request(10_000, [car('a')]);

  it.each<[string, AllocationRequest]>([
    ['nodes[0].importW', { ...ok, nodes: [node('root', null, -1), node('cp', 'root', 1)] }],
    ['nodes[1].exportW', { ...ok, nodes: [node('root', null, 1), node('cp', 'root', 1, 0.5)] }],
    ['sessions[0].minW', { ...ok, sessions: [car('a', { minW: 1000.5 })] }],
    ['sessions[0].minW', { ...ok, sessions: [car('a', { minW: 0 })] }],
    ['sessions[0].maxW', { ...ok, sessions: [car('a', { minW: 2000, maxW: 1000 })] }],
    ['sessions[0].requiredW', { ...ok, sessions: [car('a', { requiredW: Number.NaN })] }],
    ['sessions[0].discharge.maxW', { ...ok, sessions: [car('a', { discharge: { minW: 10, maxW: 5 } })] }],
    ['sessions[0].nodeId', { ...ok, sessions: [car('a', { nodeId: 'nowhere' })] }],
    ['sessions[1].id', { ...ok, sessions: [car('a'), car('a')] }],
    ['sessions[0].laxityS', { ...ok, sessions: [car('a', { laxityS: Infinity })] }],
    ['nodes[1].parentId', { ...ok, nodes: [node('root', null, 1), node('cp', 'nowhere', 1)] }],
    ['nodes must have exactly one root', { ...ok, nodes: [node('root', null, 1), node('cp', null, 1)] }],
    ['leads round a cycle', { ...ok, nodes: [node('root', null, 1), node('x', 'y', 1), node('y', 'x', 1), node('cp', 'root', 1)] }],
    ['promoteAfterMs', { ...ok, promoteAfterMs: 0 }],
    ['discharge[0].nodeId', { ...ok, discharge: [{ nodeId: 'nowhere', targetW: 1, holdOthers: false, source: 'price' }] }],
    ['discharge[0].targetW', { ...ok, discharge: [{ nodeId: 'root', targetW: -1, holdOthers: false, source: 'price' }] }],
    ['add up to', { ...ok, sessions: [car('a', { maxW: Number.MAX_SAFE_INTEGER })] }],
  ])('refuses a bad %s', (field, bad) => {
    expect(() => allocate(bad)).toThrow(field);
  });

  it('accepts a required average a watt above the maximum (rounding at the edge) and serves the maximum', () => {
    expect(outcome(request(100_000, [car('a', { requiredW: 11_001 })])).a).toEqual([11_000, 'charging', null]);
  });

  it('converts decimal watts: limits down, minimums up, refusing what is not a safe integer', () => {
    expect(floorWatts(new Decimal('7400.9'))).toBe(7400);
    expect(ceilWatts(new Decimal('1380.1'))).toBe(1381);
    expect(ceilWatts(new Decimal('1380'))).toBe(1380);
    expect(() => floorWatts(new Decimal('9007199254740993'))).toThrow('not a safe integer');
  });

  it('answers an empty site', () => {
    expect(allocate(request(0, []))).toEqual({
      at: AT,
      sessions: [],
      nodeFlowW: new Map([
        ['root', 0],
        ['cp', 0],
      ]),
    });
  });
});
