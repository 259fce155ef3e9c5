import { Decimal } from '@v2g/domain';
import { beforeAll, describe, expect, it } from 'vitest';
import { simulateCarParkDay, type DayReport, type SessionOutcome } from './car-park-day.ts';

/** The grid issue's acceptance day: see car-park-day.ts for the scenario. */
describe.each([1, 2, 3])('a simulated day in a multi-level car park (seed %i)', (seed) => {
  let report: DayReport;
  beforeAll(async () => {
    report = await simulateCarParkDay({ seed, arrivals: 150 });
  }, 300_000);

  const met = (s: SessionOutcome) => new Decimal(s.deliveredWh).plus(1).greaterThanOrEqualTo(s.neededWh);

  it('lives through a busy day', () => {
    expect(report.arrivals).toBe(150);
    expect(report.sessions.length + report.turnedAway).toBe(150);
    expect(report.allocations).toBeGreaterThan(300);
    // The evening cap binds: demand is above 150 kW then, so the check below means something.
    expect(report.eveningPeakImportW).toBe(150_000);
    expect(report.peakImportW).toBeGreaterThan(150_000);
  });

  it('never breaks a limit of any node, minute by minute', () => {
    expect(report.violations).toEqual([]);
  });

  it("meets every rule boundary with the setpoints in force then, given the chargers' response time", () => {
    // Three rules with a start and an end each, checked against every setpoint vector that a
    // charger could still be following at that instant.
    expect(report.boundaryChecks).toBeGreaterThanOrEqual(6);
    expect(report.boundaryViolations).toEqual([]);
  });

  it("meets every urgent session's departure energy", () => {
    const urgent = report.sessions.filter((s) => s.tier === 'urgent');
    expect(urgent.length).toBeGreaterThan(5);
    expect(urgent.filter((s) => !met(s))).toEqual([]);
  });

  it('gives every normal session that could be served at least one turn', () => {
    const normal = report.sessions.filter((s) => s.tier === 'normal');
    expect(normal.length).toBeGreaterThan(50);
    expect(normal.filter((s) => s.poweredMinutes === 0)).toEqual([]);
  });

  it('meets the discharge request as far as consent and reserves allow', () => {
    expect(report.discharge.length).toBeGreaterThan(0);
    expect(report.discharge.every((d) => d.at >= '2026-11-27T18:00' && d.at < '2026-11-27T19:00')).toBe(true);
    expect(report.discharge.filter((d) => d.unexplainedShortfall.length > 0)).toEqual([]);
    expect(report.discharge.some((d) => d.dischargedW > 0)).toBe(true);
    expect(report.sessions.some((s) => s.v2g && new Decimal(s.dischargedWh).greaterThan(0))).toBe(true);
  });
});
