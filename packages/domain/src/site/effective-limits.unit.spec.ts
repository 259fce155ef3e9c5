import { describe, expect, it } from 'vitest';
import { assign, at, depot, occupy, registeredOf, run, SITE, T0, T0_MS } from '../../test/site-fixtures.ts';
import { effectiveLimits, nodeFlows, sessionBounds } from './effective-limits.ts';
import type { CongestionRule, SiteCommand, SiteEvent } from './site.ts';

const load = (nodeId: string, otherLoadW: string, generationW = '0'): SiteCommand => ({
  type: 'RecordNodeLoad',
  siteId: SITE,
  at: T0,
  nodeId,
  occurredAt: T0,
  otherLoadW,
  generationW,
});
const rule = (ruleId: string, scope: CongestionRule['scope'], importCapW: string | null, exportCapW: string | null, priority = 0, start = T0): SiteCommand => ({
  type: 'AddCongestionRule',
  siteId: SITE,
  at: T0,
  rule: { ruleId, priority, scope, window: { start, end: at(60), daysOfWeek: null, dailyFrom: null, dailyTo: null }, importCapW, exportCapW, reason: null, source: null },
});
const limitsAfter = (commands: SiteCommand[], atMs = T0_MS, history: SiteEvent[] = depot()) => effectiveLimits(registeredOf(run(commands, history)), atMs);

describe('effectiveLimits', () => {
  it('is the static limits when nothing else binds', () => {
    const limits = limitsAfter([]);
    expect([...limits.keys()]).toEqual([SITE, 'f1', 'c1', 'ch1', 'k1', 'k2', 'ch2', 'k3']);
    expect(limits.get(SITE)).toEqual({ nodeId: SITE, importW: '100000', exportW: '50000', importBoundBy: 'static', exportBoundBy: 'static' });
    expect(limits.get('ch2')).toEqual({ nodeId: 'ch2', importW: '11000', exportW: '0', importBoundBy: 'static', exportBoundBy: 'static' });
  });

  it('takes the measured non-EV load of the whole subtree off the import headroom, and adds it to the export headroom', () => {
    const limits = limitsAfter([load('c1', '30000', '2000'), load('f1', '5000'), load(SITE, '20000', '1000')]);
    // c1: 40000 - 28000; f1: 60000 - 33000; root: 100000 - 52000.
    expect(limits.get('c1')).toMatchObject({ importW: '12000', importBoundBy: 'headroom', exportW: '20000', exportBoundBy: 'static' });
    expect(limits.get('f1')).toMatchObject({ importW: '27000', importBoundBy: 'headroom' });
    expect(limits.get(SITE)).toMatchObject({ importW: '48000', importBoundBy: 'headroom', exportW: '50000', exportBoundBy: 'static' });
    expect(limits.get('ch1')).toMatchObject({ importW: '44000', importBoundBy: 'static' });
  });

  it('takes local generation off the export headroom, and clamps at 0', () => {
    const limits = limitsAfter([load('f1', '1000', '26000.5'), load('c1', '50000')]);
    // f1: nonEv = 50000 + 1000 - 26000.5 = 24999.5; c1: 50000 > 40000 → 0.
    expect(limits.get('c1')).toMatchObject({ importW: '0', importBoundBy: 'headroom' });
    expect(limits.get('f1')).toMatchObject({ importW: '35000.5', importBoundBy: 'headroom', exportW: '30000', exportBoundBy: 'static' });
    const generating = limitsAfter([load('f1', '0', '35000')]);
    expect(generating.get('f1')).toMatchObject({ importW: '60000', importBoundBy: 'static', exportW: '0', exportBoundBy: 'headroom' });
    expect(generating.get(SITE)).toMatchObject({ exportW: '15000', exportBoundBy: 'headroom' });
  });

  it('applies rules in force on their node, area rules on the root', () => {
    const commands = [
      rule('r-f1', { kind: 'node', nodeId: 'f1' }, '20000', null),
      rule('r-area', { kind: 'area', areaId: 'nl-1' }, null, '1000'),
      rule('later', { kind: 'node', nodeId: 'c1' }, '1', '1', 0, at(30)),
    ];
    const limits = limitsAfter(commands);
    expect(limits.get('f1')).toMatchObject({ importW: '20000', importBoundBy: 'rule:r-f1', exportW: '30000', exportBoundBy: 'static' });
    expect(limits.get(SITE)).toMatchObject({ importW: '100000', importBoundBy: 'static', exportW: '1000', exportBoundBy: 'rule:r-area' });
    expect(limits.get('c1')).toMatchObject({ importW: '40000', importBoundBy: 'static' });
    expect(limitsAfter(commands, T0_MS + 30 * 60_000).get('c1')).toMatchObject({ importW: '1', importBoundBy: 'rule:later', exportW: '1', exportBoundBy: 'rule:later' });
    // Ended: [start, end).
    expect(limitsAfter(commands, T0_MS + 60 * 60_000).get('f1')).toMatchObject({ importW: '60000', importBoundBy: 'static' });
  });

  it('breaks ties: static, then headroom, then the rule with the higher priority, then the lower rule id', () => {
    expect(limitsAfter([rule('r1', { kind: 'node', nodeId: 'f1' }, '60000', null)]).get('f1')).toMatchObject({ importW: '60000', importBoundBy: 'static' });
    expect(limitsAfter([load('f1', '10000'), rule('r1', { kind: 'node', nodeId: 'f1' }, '50000', null)]).get('f1')).toMatchObject({ importW: '50000', importBoundBy: 'headroom' });
    const rules = [
      rule('b', { kind: 'node', nodeId: 'f1' }, '10000', null, 1),
      rule('a', { kind: 'node', nodeId: 'f1' }, '10000', null, 1),
      rule('c', { kind: 'node', nodeId: 'f1' }, '10000', null, 5),
    ];
    expect(limitsAfter(rules).get('f1')).toMatchObject({ importBoundBy: 'rule:c' });
    expect(limitsAfter(rules.slice(0, 2)).get('f1')).toMatchObject({ importBoundBy: 'rule:a' });
  });
});

describe('nodeFlows and sessionBounds', () => {
  it('sums setpoints below each node', () => {
    const site = registeredOf(
      run([occupy('k1', 's1', '22000', '11000'), occupy('k2', 's2'), occupy('k3', 's3'), assign(at(1), ['s1', '-5000.5'], ['s2', '7000'], ['s3', '3000'])], depot()),
    );
    const flows = nodeFlows(site);
    expect(Object.fromEntries([...flows].map(([id, flow]) => [id, flow.toFixed()]))).toEqual({
      [SITE]: '4999.5',
      f1: '1999.5',
      c1: '1999.5',
      ch1: '1999.5',
      k1: '-5000.5',
      k2: '7000',
      ch2: '3000',
      k3: '3000',
    });
    expect(sessionBounds(site, site.sessions.get('s1')!)).toEqual({ chargerId: 'ch1', charge: { minW: '1400', maxW: '22000' }, discharge: { minW: '1000', maxW: '11000' } });
    expect(sessionBounds(site, site.sessions.get('s3')!)).toEqual({ chargerId: 'ch2', charge: { minW: '1400', maxW: '11000' }, discharge: null });
  });
});
