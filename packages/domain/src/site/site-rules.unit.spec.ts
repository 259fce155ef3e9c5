import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { addNode, assign, at, curtailment, depot, occupy, registeredOf, run, SITE, T0, T0_MS } from '../../test/site-fixtures.ts';
import { InvalidCommand } from '../errors.ts';
import { activeDischargeRequests } from './effective-limits.ts';
import { DischargeRequestAlreadyExists, RuleAlreadyExists, UnknownDischargeRequest, UnknownNode, UnknownRule } from './site-errors.ts';
import { siteDecider, type CongestionRule, type SiteCommand } from './site.ts';

const given = givenFor(siteDecider);

const rule = (overrides: Partial<CongestionRule> = {}): CongestionRule => ({
  ruleId: 'dso-1',
  priority: 10,
  scope: { kind: 'node', nodeId: 'f1' },
  window: { start: T0, end: at(120), daysOfWeek: null, dailyFrom: null, dailyTo: null },
  importCapW: '20000',
  exportCapW: null,
  reason: 'feeder maintenance',
  source: 'dso:req-42',
  ...overrides,
});
const addRule = (r: unknown, atTime = T0): SiteCommand => ({ type: 'AddCongestionRule', siteId: SITE, at: atTime, rule: r as CongestionRule });

describe('site decider: congestion rules', () => {
  it('adds a rule in canonical form and removes it', () => {
    given(depot())
      .when(addRule(rule({ window: { start: '2026-11-27T17:00Z', end: null, daysOfWeek: [7, 1, 3], dailyFrom: '22:00', dailyTo: '06:00' } })))
      .then([
        {
          type: 'CongestionRuleAdded',
          data: { siteId: SITE, rule: rule({ window: { start: T0, end: null, daysOfWeek: [1, 3, 7], dailyFrom: '22:00', dailyTo: '06:00' } }) },
        },
      ]);
    given(depot())
      .when(addRule(rule({ scope: { kind: 'area', areaId: 'nl-ams-3' }, importCapW: null, exportCapW: '0.0', reason: null, source: null })))
      .then([
        {
          type: 'CongestionRuleAdded',
          data: { siteId: SITE, rule: rule({ scope: { kind: 'area', areaId: 'nl-ams-3' }, importCapW: null, exportCapW: '0', reason: null, source: null }) },
        },
      ]);
    const withRule = run([addRule(rule())], depot());
    expect(registeredOf(withRule).rules.get('dso-1')).toEqual(rule());
    given(withRule)
      .when({ type: 'RemoveCongestionRule', siteId: SITE, at: T0, ruleId: 'dso-1' })
      .then([{ type: 'CongestionRuleRemoved', data: { siteId: SITE, ruleId: 'dso-1' } }]);
    expect(registeredOf(run([{ type: 'RemoveCongestionRule', siteId: SITE, at: T0, ruleId: 'dso-1' }], withRule)).rules.size).toBe(0);
  });

  it('refuses a taken id, an unknown node and an unknown rule', () => {
    const withRule = run([addRule(rule())], depot());
    given(withRule).when(addRule(rule())).thenThrows(RuleAlreadyExists, { ruleId: 'dso-1' });
    given(depot())
      .when(addRule(rule({ scope: { kind: 'node', nodeId: 'f9' } })))
      .thenThrows(UnknownNode, { nodeId: 'f9' });
    given(depot()).when({ type: 'RemoveCongestionRule', siteId: SITE, at: T0, ruleId: 'dso-1' }).thenThrows(UnknownRule, { ruleId: 'dso-1' });
  });

  it('refuses a malformed rule, naming the field', () => {
    const window = rule().window;
    const cases: Array<[unknown, string]> = [
      [rule({ importCapW: null, exportCapW: null }), 'rule'],
      [rule({ importCapW: '-1' }), 'rule.importCapW'],
      [rule({ exportCapW: '1e3' }), 'rule.exportCapW'],
      [rule({ ruleId: '' }), 'rule.ruleId'],
      [rule({ priority: 1.5 }), 'rule.priority'],
      [rule({ scope: { kind: 'region' } as unknown as CongestionRule['scope'] }), 'rule.scope.kind'],
      [rule({ scope: { kind: 'area', areaId: 'a b' } }), 'rule.scope.areaId'],
      [rule({ window: { ...window, start: 'soon' } }), 'rule.window.start'],
      [rule({ window: { ...window, end: T0 } }), 'rule.window.end'],
      [rule({ window: { ...window, end: at(-1) } }), 'rule.window.end'],
      [rule({ window: { ...window, daysOfWeek: [0] } }), 'rule.window.daysOfWeek'],
      [rule({ window: { ...window, daysOfWeek: [8] } }), 'rule.window.daysOfWeek'],
      [rule({ window: { ...window, daysOfWeek: [1, 1] } }), 'rule.window.daysOfWeek'],
      [rule({ window: { ...window, daysOfWeek: [] } }), 'rule.window.daysOfWeek'],
      [rule({ window: { ...window, dailyFrom: '08:00' } }), 'rule.window.dailyTo'],
      [rule({ window: { ...window, dailyTo: '08:00' } }), 'rule.window.dailyFrom'],
      [rule({ window: { ...window, dailyFrom: '24:00', dailyTo: '08:00' } }), 'rule.window.dailyFrom'],
      [rule({ window: { ...window, dailyFrom: '8:00', dailyTo: '09:00' } }), 'rule.window.dailyFrom'],
      [rule({ window: { ...window, dailyFrom: '08:00', dailyTo: '09:60' } }), 'rule.window.dailyTo'],
      [rule({ reason: '' }), 'rule.reason'],
      [null, 'rule'],
    ];
    for (const [bad, field] of cases) given(depot()).when(addRule(bad)).thenThrows(InvalidCommand, { field });
  });

  it('curtails when a rule in force now caps below the setpoints, not when it starts later', () => {
    const charging = run([occupy('k1', 's1'), occupy('k3', 's3'), assign(at(1), ['s1', '22000'], ['s3', '10000'])], depot());
    given(charging)
      .when(addRule(rule({ window: { ...rule().window, start: at(10) } }), at(2)))
      .then([{ type: 'CongestionRuleAdded', data: { siteId: SITE, rule: rule({ window: { ...rule().window, start: at(10) } }) } }]);
    given(charging)
      .when(addRule(rule(), at(2)))
      .then([{ type: 'CongestionRuleAdded', data: { siteId: SITE, rule: rule() } }, ...curtailment(at(2), ['s1', 'curtailed:f1'])]);
    // An area rule caps the whole connection.
    const area = rule({ ruleId: 'area-1', scope: { kind: 'area', areaId: 'nl-ams-3' }, importCapW: '25000' });
    given(charging)
      .when(addRule(area, at(2)))
      .then([{ type: 'CongestionRuleAdded', data: { siteId: SITE, rule: area } }, ...curtailment(at(2), ['s1', `curtailed:${SITE}`], ['s3', `curtailed:${SITE}`])]);
  });

  it('curtails again when putting a discharging session on hold pushes an ancestor over its limit', () => {
    // c2 feeds back 8 kW through k4, c1 draws 22 kW: f1 carries 14 kW. An export cap of 5 kW on c2
    // stops the feed-back, and f1 (import capped at 15 kW by a rule) then carries 22 kW: c1's session goes too.
    const tree = run(
      [
        addNode('c2', 'f1', 'circuit', '40000', '20000'),
        addNode('ch4', 'c2', 'charger', '22000', '22000', { minPowerW: '1400', maxPowerW: '22000', bidirectional: true, minDischargePowerW: '1000', maxDischargePowerW: '11000' }),
        addNode('k4', 'ch4', 'connector', '22000', '22000'),
        occupy('k1', 's1'),
        occupy('k4', 's4', '22000', '11000'),
        addRule(rule({ ruleId: 'cap-f1', importCapW: '15000' })),
        assign(at(1), ['s1', '22000'], ['s4', '-8000']),
      ],
      depot(),
    );
    given(tree)
      .when(addRule(rule({ ruleId: 'cap-c2', scope: { kind: 'node', nodeId: 'c2' }, importCapW: null, exportCapW: '5000' }), at(2)))
      .then([
        { type: 'CongestionRuleAdded', data: { siteId: SITE, rule: rule({ ruleId: 'cap-c2', scope: { kind: 'node', nodeId: 'c2' }, importCapW: null, exportCapW: '5000' }) } },
        ...curtailment(at(2), ['s1', 'curtailed:f1'], ['s4', 'curtailed:c2']),
      ]);
  });
});

describe('site decider: discharge requests', () => {
  const request = (overrides: Partial<Extract<SiteCommand, { type: 'RequestDischarge' }>> = {}): SiteCommand => ({
    type: 'RequestDischarge',
    siteId: SITE,
    at: T0,
    requestId: 'q1',
    nodeId: 'f1',
    start: at(30),
    end: at(90),
    powerW: '15000',
    source: 'dso:flex-7',
    ...overrides,
  });

  it('records a request, lists it while in force, and cancels it', () => {
    given(depot())
      .when(request({ start: '2026-11-27T17:30Z', powerW: '15000.0' }))
      .then([{ type: 'DischargeRequested', data: { siteId: SITE, requestId: 'q1', nodeId: 'f1', start: at(30), end: at(90), powerW: '15000', source: 'dso:flex-7' } }]);
    const requested = run([request(), request({ requestId: 'q0', nodeId: SITE, start: at(-10), end: at(40), source: null })], depot());
    const site = registeredOf(requested);
    expect(activeDischargeRequests(site, T0_MS).map((r) => r.requestId)).toEqual(['q0']);
    expect(activeDischargeRequests(site, T0_MS + 30 * 60_000).map((r) => r.requestId)).toEqual(['q0', 'q1']);
    expect(activeDischargeRequests(site, T0_MS + 40 * 60_000).map((r) => r.requestId)).toEqual(['q1']);
    expect(activeDischargeRequests(site, T0_MS + 90 * 60_000)).toEqual([]);
    given(requested)
      .when({ type: 'CancelDischargeRequest', siteId: SITE, at: T0, requestId: 'q1' })
      .then([{ type: 'DischargeRequestCancelled', data: { siteId: SITE, requestId: 'q1' } }]);
    expect(registeredOf(run([{ type: 'CancelDischargeRequest', siteId: SITE, at: T0, requestId: 'q1' }], requested)).dischargeRequests.has('q1')).toBe(false);
  });

  it('refuses a bad request', () => {
    const requested = run([request()], depot());
    given(requested).when(request()).thenThrows(DischargeRequestAlreadyExists, { requestId: 'q1' });
    given(depot())
      .when(request({ nodeId: 'f9' }))
      .thenThrows(UnknownNode, { nodeId: 'f9' });
    given(depot())
      .when(request({ end: at(30) }))
      .thenThrows(InvalidCommand, { field: 'end' });
    given(depot())
      .when(request({ start: at(-60), end: at(0) }))
      .thenThrows(InvalidCommand, { field: 'end' });
    given(depot())
      .when(request({ powerW: '0' }))
      .thenThrows(InvalidCommand, { field: 'powerW' });
    given(depot())
      .when(request({ powerW: '-5' }))
      .thenThrows(InvalidCommand, { field: 'powerW' });
    given(depot())
      .when(request({ start: 'now' }))
      .thenThrows(InvalidCommand, { field: 'start' });
    given(depot()).when({ type: 'CancelDischargeRequest', siteId: SITE, at: T0, requestId: 'q1' }).thenThrows(UnknownDischargeRequest, { requestId: 'q1' });
  });
});
