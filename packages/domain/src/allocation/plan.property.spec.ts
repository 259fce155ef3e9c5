import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addNode, depot, occupy, registeredOf, run, SITE, T0_MS } from '../../test/site-fixtures.ts';
import type { SessionState } from '../session/session-types.ts';
import { sessionDecider } from '../session/session.ts';
import { limitViolations, nonZeroFlows } from '../site/effective-limits.ts';
import { nextRuleBoundary } from '../site/rule-window.ts';
import { siteDecider, type CongestionRule, type SiteCommand } from '../site/site.ts';
import { formatInstant } from '../values/index.ts';
import { allocationCommand } from './plan.ts';

const MINUTE = 60_000;

/** A session plugged in at T0 at `connectorId`, needing more than it can get in the hours tested. */
function pluggedIn(sessionId: string, connectorId: string, tier: 'urgent' | 'normal'): SessionState {
  const events = sessionDecider.decide(
    {
      type: 'PlugIn',
      sessionId,
      siteId: SITE,
      connectorId,
      at: formatInstant(T0_MS),
      vehicleId: `ev-${sessionId}`,
      customerId: 'c-1',
      fleetId: null,
      tier,
      departureAt: formatInstant(T0_MS + 24 * 60 * MINUTE),
      energyNeededWh: '500000',
      targetSocPercent: null,
      batteryCapacityWh: null,
      socPercent: null,
      minPowerW: '1000',
      maxPowerW: '22000',
      v2g: null,
      meterStartImportWh: null,
      meterStartExportWh: null,
    },
    sessionDecider.initialState(),
  );
  return events.reduce(sessionDecider.evolve, sessionDecider.initialState());
}

const ruleArb = (i: number): fc.Arbitrary<CongestionRule> =>
  fc
    .record({
      node: fc.constantFrom(SITE, 'f1', 'c1', 'ch1', 'k1', 'k3'),
      startMin: fc.integer({ min: -120, max: 240 }),
      lengthMin: fc.option(fc.integer({ min: 1, max: 240 }), { nil: null }),
      daily: fc.option(fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 })), { nil: null }),
      capW: fc.integer({ min: 0, max: 60_000 }),
      priority: fc.integer({ min: 0, max: 5 }),
    })
    .map(({ node, startMin, lengthMin, daily, capW, priority }) => ({
      ruleId: `r${i}`,
      priority,
      scope: { kind: 'node', nodeId: node },
      window: {
        start: formatInstant(T0_MS + startMin * MINUTE),
        end: lengthMin === null ? null : formatInstant(T0_MS + (startMin + lengthMin) * MINUTE),
        daysOfWeek: null,
        dailyFrom: daily === null ? null : `${String(daily[0]).padStart(2, '0')}:${String(daily[1]).padStart(2, '0')}`,
        dailyTo: daily === null ? null : `${String(daily[2]).padStart(2, '0')}:${String(daily[1]).padStart(2, '0')}`,
      },
      importCapW: String(capW),
      exportCapW: null,
      reason: null,
      source: null,
    }));

describe('planAllocation with a lead time (property)', () => {
  it('keeps every limit in force at every instant of [at, at + lead], rule boundaries included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(i)))),
        fc.integer({ min: 0, max: 60_000 }),
        // `at` is taken just before one of the rules' boundaries (or anywhere, when none is near).
        fc.integer({ min: 0, max: 5 * 60 * MINUTE }),
        fc.integer({ min: 0, max: 60_000 }),
        (rules, leadMs, offsetMs, beforeBoundaryMs) => {
          const history = run(
            [
              occupy('k1', 's1'),
              occupy('k2', 's2'),
              occupy('k3', 's3', '11000'),
              ...rules.map((rule): SiteCommand => ({ type: 'AddCongestionRule', siteId: SITE, at: formatInstant(T0_MS), rule })),
            ],
            depot(),
          );
          const site = registeredOf(history);
          const sessions = new Map([
            ['s1', pluggedIn('s1', 'k1', 'urgent')],
            ['s2', pluggedIn('s2', 'k2', 'normal')],
            ['s3', pluggedIn('s3', 'k3', 'normal')],
          ]);
          const boundary = nextRuleBoundary(rules[0]!.window, T0_MS + offsetMs);
          const atMs = boundary === null ? T0_MS + offsetMs : Math.max(T0_MS, boundary - Math.min(beforeBoundaryMs, leadMs));
          const { command } = allocationCommand({ site, sessions, at: atMs, leadMs, priceMinorPerKWh: null }, 'test');
          const after = registeredOf([...history, ...siteDecider.decide(command, site)]);
          const flows = nonZeroFlows(after);
          const instants = [atMs];
          for (const rule of rules) {
            for (let b = nextRuleBoundary(rule.window, atMs); b !== null && b <= atMs + leadMs; b = nextRuleBoundary(rule.window, b)) instants.push(b);
          }
          for (const instant of instants) expect(limitViolations(after, flows, instant), formatInstant(instant)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lowers the setpoints a lead before a cap starts, not at its start', () => {
    const history = run(
      [
        addNode('k4', 'ch2', 'connector', '11000', '0'),
        occupy('k1', 's1'),
        {
          type: 'AddCongestionRule',
          siteId: SITE,
          at: formatInstant(T0_MS),
          rule: {
            ruleId: 'cap',
            priority: 1,
            scope: { kind: 'node', nodeId: 'f1' },
            window: { start: formatInstant(T0_MS + 5_000), end: null, daysOfWeek: null, dailyFrom: null, dailyTo: null },
            importCapW: '2000',
            exportCapW: null,
            reason: null,
            source: null,
          },
        },
      ],
      depot(),
    );
    const site = registeredOf(history);
    const sessions = new Map([['s1', pluggedIn('s1', 'k1', 'normal')]]);
    const power = (leadMs: number) => allocationCommand({ site, sessions, at: T0_MS, leadMs, priceMinorPerKWh: null }, 'test').command.setpoints[0]!.powerW;
    expect(power(4_999)).toBe('22000');
    expect(power(5_000)).toBe('2000');
  });
});
