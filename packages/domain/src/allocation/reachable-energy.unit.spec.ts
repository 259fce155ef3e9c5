import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { depot, occupy, registeredOf, run, SITE, T0, T0_MS } from '../../test/site-fixtures.ts';
import type { SessionState } from '../session/session-types.ts';
import { sessionDecider } from '../session/session.ts';
import type { SiteCommand } from '../site/site.ts';
import { formatInstant } from '../values/index.ts';
import { allocationCommand } from './plan.ts';
import { latestStartMs } from './reachable-energy.ts';

const MINUTE = 60_000;
const at = (minutes: number) => formatInstant(T0_MS + minutes * MINUTE);

/** A V2G session on k1: 60 kWh battery at 50%, wants 80% (18 kWh) by T0 + 3 h, up to 22 kW. */
function v2gSession(): SessionState {
  const events = sessionDecider.decide(
    {
      type: 'PlugIn',
      sessionId: 's1',
      siteId: SITE,
      connectorId: 'k1',
      at: T0,
      vehicleId: 'ev-1',
      customerId: 'c-1',
      fleetId: null,
      tier: 'normal',
      departureAt: at(180),
      energyNeededWh: null,
      targetSocPercent: '80',
      batteryCapacityWh: '60000',
      socPercent: '50',
      minPowerW: '1000',
      maxPowerW: '22000',
      v2g: { minSocPercent: '20', maxDischargePowerW: '11000' },
      meterStartImportWh: null,
      meterStartExportWh: null,
    },
    sessionDecider.initialState(),
  );
  return events.reduce(sessionDecider.evolve, sessionDecider.initialState());
}

const eveningCap: SiteCommand = {
  type: 'AddCongestionRule',
  siteId: SITE,
  at: T0,
  rule: {
    ruleId: 'evening',
    priority: 1,
    scope: { kind: 'node', nodeId: 'c1' },
    window: { start: at(30), end: null, daysOfWeek: null, dailyFrom: null, dailyTo: null },
    importCapW: '1400',
    exportCapW: null,
    reason: null,
    source: null,
  },
};
const discharge: SiteCommand = { type: 'RequestDischarge', siteId: SITE, at: T0, requestId: 'flex', nodeId: SITE, start: T0, end: at(60), powerW: '5000', source: 'dso' };

function setpointOf(commands: SiteCommand[]): string {
  const site = registeredOf(run([occupy('k1', 's1', '22000', '11000'), ...commands], depot()));
  const { command } = allocationCommand({ site, sessions: new Map([['s1', v2gSession()]]), at: T0_MS, leadMs: 0, priceMinorPerKWh: null }, 'test');
  return command.setpoints.find((s) => s.sessionId === 's1')!.powerW;
}

describe('time to spare under the known rules (issue 12, item 4)', () => {
  it('lets a session with time to spare at full power feed back for a discharge request', () => {
    expect(setpointOf([discharge])).toMatch(/^-/);
  });

  it('keeps a session that a known evening cap will slow from feeding back', () => {
    // At 22 kW 18 kWh take 49 minutes of the 3 hours; under the 1.4 kW cap from +30 min only 14.5 kWh can come at all.
    expect(setpointOf([eveningCap, discharge])).not.toMatch(/^-/);
    // Without the request, it charges at full power now, while it still can.
    expect(setpointOf([eveningCap])).toBe('22000');
  });

  it('finds the latest start that still delivers the energy, as a step-by-step simulation does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ lengthMin: fc.integer({ min: 1, max: 120 }), powerW: fc.integer({ min: 0, max: 22_000 }) }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 1, max: 400 }),
        (shape, energyWh, departureMin) => {
          let from = 0;
          const steps = shape.map(({ lengthMin, powerW }) => {
            const step = { fromMs: from, toMs: from + lengthMin * MINUTE, powerW };
            from = step.toMs;
            return step;
          });
          const departureMs = departureMin * MINUTE;
          const maxW = 22_000;
          const start = latestStartMs(steps, 0, departureMs, energyWh, maxW);
          // Energy from `start` to departure, a minute at a time at each step's power (before 0: at maxW).
          const powerAt = (ms: number) => (ms < 0 ? maxW : (steps.find((s) => s.fromMs <= ms && ms < s.toMs)?.powerW ?? 0));
          let deliveredWh = 0;
          for (let t = start; t < departureMs;) {
            const next = Math.min(departureMs, t < 0 ? 0 : Math.floor(t / MINUTE + 1) * MINUTE);
            deliveredWh += (powerAt(t) * (next - t)) / 3_600_000;
            t = next;
          }
          expect(start).toBeLessThanOrEqual(departureMs);
          expect(deliveredWh).toBeCloseTo(energyWh, 3);
        },
      ),
      { numRuns: 500 },
    );
  });
});
