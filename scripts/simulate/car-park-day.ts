import { pathToFileURL } from 'node:url';
import {
  accountDecider,
  accountStreamId,
  Decimal,
  effectiveLimits,
  formatInstant,
  nextRuleBoundary,
  parseInstant,
  planAllocation,
  tariffDecider,
  tariffStreamId,
  type TariffDefinition,
  type RegisteredSite,
  type SessionState,
  type Tier,
} from '@v2g/domain';
import { MemoryEventStore, SchemaRegistry } from '@v2g/event-store';
import { CommandHandler, GridService, nextAllocationDue, type AllocationOutcome } from '@v2g/ledger';
import { prng } from '@v2g/testing/workloads';

/**
 * A day in a multi-level car park, driven through the grid's application layer minute by minute:
 * three feeders (one per level), 60 chargers, ~150 arrivals with mixed tiers, an evening
 * congestion window and one discharge request from the grid operator. Vehicles draw what they are
 * given (until full), meters report every five minutes, and the clock-driven re-allocations happen
 * when the scheduler would run them (to the millisecond: a rule boundary is allocated for
 * CHARGER_LEAD_MS ahead). After every minute it checks every node's limits against the setpoints in
 * force, and at every rule boundary against the setpoints that were surely in force then (chargers
 * take up to CHARGER_LEAD_MS to follow a new setpoint, so a setpoint recorded at t is replaced only
 * by t + lead); at the end it reports what urgent, normal and V2G sessions got.
 *
 * It runs on the in-memory store (events still validated against schemas/events): the day makes
 * about 9,000 events and 650 allocations; it is a simulation of the domain and its application
 * layer, not a database test (the GraphQL e2e tests cover the grid on PGlite and the server).
 */

export type DayOptions = { seed: number; arrivals: number };

export type SessionOutcome = {
  sessionId: string;
  tier: Tier;
  arrivedAt: string;
  departedAt: string;
  neededWh: string;
  deliveredWh: string;
  /** Minutes with a positive setpoint. */
  poweredMinutes: number;
  dischargedWh: string;
  v2g: boolean;
  /** Could it meet its need at full power alone in its stay? */
  feasibleAlone: boolean;
};

export type DischargeCheck = {
  at: string;
  targetW: number;
  dischargedW: number;
  /** Eligible sessions below their maximum discharge while the target was not met, with no export limit binding. */
  unexplainedShortfall: string[];
};

export type DayReport = {
  arrivals: number;
  turnedAway: number;
  allocations: number;
  events: number;
  /** Minutes at which some node's flow broke its effective limit (must stay empty). */
  violations: string[];
  /** Rule boundaries at which setpoints still in force (given the chargers' lead) broke a limit (must stay empty). */
  boundaryViolations: string[];
  /** Rule boundaries checked. */
  boundaryChecks: number;
  sessions: SessionOutcome[];
  discharge: DischargeCheck[];
  peakImportW: number;
  eveningPeakImportW: number;
};

const DAY = '2026-11-27';
const at = (hhmm: string) => parseInstant('at', `${DAY}T${hhmm}:00Z`);
const MINUTE = 60_000;
/** How long the simulated chargers take to follow a new setpoint. */
export const CHARGER_LEAD_MS = 5_000;
const CONTEXT = { actor: 'simulation' };

type Arrival = {
  sessionId: string;
  arriveMs: number;
  departMs: number;
  tier: Tier;
  v2g: boolean;
  capacityWh: Decimal;
  socPercent: number;
  /** What the driver asks for: energy, or a target SoC (V2G drivers). */
  neededWh: Decimal;
  targetSoc: number | null;
};

function arrivals(options: DayOptions): Arrival[] {
  const random = prng(options.seed);
  const pick = <T>(items: readonly (readonly [T, number])[]): T => {
    let r = random();
    for (const [item, weight] of items) if ((r -= weight) < 0) return item;
    return items.at(-1)![0];
  };
  const list: Arrival[] = [];
  for (let i = 0; i < options.arrivals; i++) {
    // Morning commuters, a midday trickle, evening visitors.
    const hour = pick([
      [6 + random() * 3, 0.45],
      [9 + random() * 6, 0.3],
      [15 + random() * 5, 0.25],
    ] as const);
    const arriveMs = at('00:00') + Math.round(hour * 60) * MINUTE;
    const stayMin = Math.round(60 + random() * 540);
    const departMs = Math.min(arriveMs + stayMin * MINUTE, at('23:59'));
    const tier = pick([
      ['urgent', 0.08],
      ['high', 0.2],
      ['normal', 0.55],
      ['low', 0.17],
    ] as const);
    const v2g = tier !== 'urgent' && random() < 0.35;
    const capacity = pick([
      [50_000, 0.4],
      [64_000, 0.4],
      [82_000, 0.2],
    ] as const);
    const socPercent = Math.round(20 + random() * 50);
    const stayH = (departMs - arriveMs) / 3_600_000;
    // Urgent drivers ask for what 11 kW alone could deliver in 70% of their stay: always possible.
    // Whole Wh from the random figures: the energy itself is a Decimal from here on.
    const needed = tier === 'urgent' ? Math.round(Math.min(11_000 * stayH * 0.7, capacity * 0.6)) : Math.round((5 + random() * 45) * 1000);
    const targetSoc = v2g ? Math.min(100, socPercent + Math.round((needed / capacity) * 100)) : null;
    const capacityWh = new Decimal(capacity);
    const neededWh = new Decimal(needed);
    list.push({ sessionId: `s${String(i).padStart(3, '0')}`, arriveMs, departMs, tier, v2g, capacityWh, socPercent, neededWh, targetSoc });
  }
  return list.sort((a, b) => a.arriveMs - b.arriveMs || a.sessionId.localeCompare(b.sessionId));
}

type Live = {
  arrival: Arrival;
  connectorId: string;
  importWh: Decimal;
  exportWh: Decimal;
  poweredMinutes: number;
  maxW: number;
};

export async function simulateCarParkDay(options: DayOptions): Promise<DayReport> {
  let now = at('00:00');
  const store = new MemoryEventStore({ registry: SchemaRegistry.fromDirectory(), clock: () => new Date(now) });
  const commands = new CommandHandler(store);
  const grid = new GridService(store, commands, { clock: () => now, chargerResponseMs: CHARGER_LEAD_MS });
  let commandNo = 0;
  const ctx = () => ({ ...CONTEXT, commandId: `sim-${++commandNo}` });
  const siteId = 'car-park';
  // Every session is billed to its driver's account: each driver is opened with a flat tariff on arrival.
  const tariff: TariffDefinition = {
    tariffId: 'car-park-flat',
    name: 'Car park flat',
    currency: 'EUR',
    energy: { kind: 'fixed', priceMinorPerKWh: '30' },
    speedBands: [],
    sessionFeeMinor: null,
    exportCredit: null,
  };
  await commands.handle(tariffDecider, tariffStreamId(tariff.tariffId), { type: 'DefineTariff', at: formatInstant(now), tariff }, ctx());
  const openAccount = (accountId: string) =>
    commands.handle(
      accountDecider,
      accountStreamId(accountId),
      { type: 'AssignTariff', accountId, at: formatInstant(now), tariffId: tariff.tariffId, validFrom: formatInstant(now), validTo: null },
      ctx(),
    );

  // The connection: 400 kW in, 200 kW out; a feeder per level; 20 chargers per level, the first
  // four of each level bidirectional DC (11 kW both ways), the rest 22 kW AC.
  await grid.site({ type: 'RegisterSite', siteId, name: 'Multi-level car park', importLimitW: '400000', exportLimitW: '200000' }, ctx());
  await grid.site({ type: 'ConfigureSite', siteId, rotationIntervalS: 900, promoteAfterS: 3600, dischargePriceThresholdMinorPerKWh: null, priceZone: null }, ctx());
  const chargers: { connectorId: string; bidirectional: boolean; maxW: number }[] = [];
  for (let level = 1; level <= 3; level++) {
    const feeder = `level-${level}`;
    await grid.site(
      { type: 'AddNode', siteId, nodeId: feeder, parentId: siteId, kind: 'feeder', name: `Level ${level}`, importLimitW: '160000', exportLimitW: '80000', charger: null },
      ctx(),
    );
    for (let c = 1; c <= 20; c++) {
      const bidirectional = c <= 4;
      const chargerId = `${feeder}-cp${String(c).padStart(2, '0')}`;
      const maxW = bidirectional ? 11_000 : 22_000;
      await grid.site(
        {
          type: 'AddNode',
          siteId,
          nodeId: chargerId,
          parentId: feeder,
          kind: 'charger',
          name: `Charger ${level}.${c}`,
          importLimitW: String(maxW),
          exportLimitW: bidirectional ? '11000' : '0',
          charger: bidirectional
            ? { minPowerW: '1400', maxPowerW: '11000', bidirectional: true, minDischargePowerW: '1400', maxDischargePowerW: '11000' }
            : { minPowerW: '4140', maxPowerW: '22000', bidirectional: false, minDischargePowerW: null, maxDischargePowerW: null },
        },
        ctx(),
      );
      const connectorId = `${chargerId}-1`;
      await grid.site(
        {
          type: 'AddNode',
          siteId,
          nodeId: connectorId,
          parentId: chargerId,
          kind: 'connector',
          name: `${chargerId} connector 1`,
          importLimitW: String(maxW),
          exportLimitW: bidirectional ? '11000' : '0',
          charger: null,
        },
        ctx(),
      );
      chargers.push({ connectorId, bidirectional, maxW });
    }
  }
  // The morning: the connection is capped at 100 kW from 07:30 to 08:30; level 2's feeder at 20 kW
  // from 16:00 to 17:30.
  const cap = (ruleId: string, nodeId: string, dailyFrom: string, dailyTo: string, importCapW: string) =>
    grid.site(
      {
        type: 'AddCongestionRule',
        siteId,
        rule: {
          ruleId,
          priority: 5,
          scope: { kind: 'node', nodeId },
          window: { start: formatInstant(at('00:00')), end: null, daysOfWeek: null, dailyFrom, dailyTo },
          importCapW,
          exportCapW: null,
          reason: null,
          source: 'dso',
        },
      },
      ctx(),
    );
  await cap('morning-connection', siteId, '07:30', '08:30', '100000');
  await cap('level-2-afternoon', 'level-2', '16:00', '17:30', '20000');
  // The evening: the grid operator caps the connection at 150 kW from 17:00 to 20:00 every day,
  // and asks for 50 kW back from 18:00 to 19:00.
  await grid.site(
    {
      type: 'AddCongestionRule',
      siteId,
      rule: {
        ruleId: 'evening-peak',
        priority: 10,
        scope: { kind: 'node', nodeId: siteId },
        window: { start: formatInstant(at('00:00')), end: null, daysOfWeek: null, dailyFrom: '17:00', dailyTo: '20:00' },
        importCapW: '150000',
        exportCapW: null,
        reason: 'evening peak on the distribution grid',
        source: 'dso',
      },
    },
    ctx(),
  );
  await grid.site(
    {
      type: 'RequestDischarge',
      siteId,
      requestId: 'flex-1',
      nodeId: siteId,
      start: formatInstant(at('18:00')),
      end: formatInstant(at('19:00')),
      powerW: '50000',
      source: 'dso flexibility request 1',
    },
    ctx(),
  );

  const report: DayReport = {
    arrivals: options.arrivals,
    turnedAway: 0,
    allocations: 0,
    events: 0,
    violations: [],
    boundaryViolations: [],
    boundaryChecks: 0,
    sessions: [],
    discharge: [],
    peakImportW: 0,
    eveningPeakImportW: 0,
  };
  const live = new Map<string, Live>();
  const queue = arrivals(options);
  let due: number | null = null;

  const loadSite = async (): Promise<RegisteredSite> => {
    const { site } = await grid.loadSite(siteId);
    if (!site) throw new Error('site vanished');
    return site;
  };
  /** Net flow through every node that carries one, from the setpoints recorded now. */
  const flowsOf = (site: RegisteredSite): Map<string, Decimal> => {
    const flows = new Map<string, Decimal>();
    for (const occupancy of site.sessions.values()) {
      for (let id: string | null = occupancy.connectorId; id !== null; id = site.nodes.get(id)?.parentId ?? null) {
        flows.set(id, (flows.get(id) ?? new Decimal(0)).plus(occupancy.setpointW));
      }
    }
    return flows;
  };
  const violationsAt = (site: RegisteredSite, flows: Map<string, Decimal>, atMs: number): string[] => {
    const limits = effectiveLimits(site, atMs);
    const found: string[] = [];
    for (const [nodeId, flow] of flows) {
      const limit = limits.get(nodeId)!;
      if (flow.greaterThan(limit.importW) || flow.lessThan(new Decimal(limit.exportW).negated())) {
        found.push(`${formatInstant(atMs)} ${nodeId}: flow ${flow.toFixed()} W outside [-${limit.exportW}, ${limit.importW}]`);
      }
    }
    return found;
  };
  // The flows recorded last and since when: a charger may still follow them until a lead after
  // they are replaced, so every rule boundary in [since, replaced + lead) is checked against them.
  let held: { sinceMs: number; flows: Map<string, Decimal> } | null = null;
  const checkHeld = (site: RegisteredSite, untilMs: number) => {
    if (!held) return;
    for (const rule of site.rules.values()) {
      for (let b = nextRuleBoundary(rule.window, held.sinceMs - 1); b !== null && b < untilMs; b = nextRuleBoundary(rule.window, b)) {
        report.boundaryChecks++;
        report.boundaryViolations.push(...violationsAt(site, held.flows, b).map((v) => `${v} (setpoints since ${formatInstant(held!.sinceMs)})`));
      }
    }
  };
  /** After every command: when the flows changed, the ones they replace are checked up to now + lead. */
  const observe = async () => {
    const site = await loadSite();
    const flows = flowsOf(site);
    if (held && held.flows.size === flows.size && [...flows].every(([id, flow]) => held!.flows.get(id)?.equals(flow))) return;
    checkHeld(site, now + CHARGER_LEAD_MS);
    held = { sinceMs: now, flows };
  };
  const sessionStates = async (site: RegisteredSite) => {
    const states = new Map<string, SessionState>();
    for (const id of site.sessions.keys()) states.set(id, (await grid.loadSession(id)).session);
    return states;
  };
  const afterAllocation = async (outcome: AllocationOutcome) => {
    report.allocations++;
    const site = await loadSite();
    due = nextAllocationDue(site, now, 5 * MINUTE, CHARGER_LEAD_MS);
    if (outcome.result) await checkDischarge(site, outcome);
  };
  const checkDischarge = async (site: RegisteredSite, outcome: AllocationOutcome) => {
    const atMs = parseInstant('at', outcome.at);
    const { request } = planAllocation({ site, sessions: await sessionStates(site), at: atMs, leadMs: CHARGER_LEAD_MS, priceMinorPerKWh: null });
    const target = request.discharge.find((d) => d.source === 'request:flex-1');
    if (!target || !outcome.result) return;
    const result = new Map(outcome.result.sessions.map((s) => [s.sessionId, s]));
    const dischargedW = outcome.result.sessions.reduce((sum, s) => sum + (s.powerW < 0 ? -s.powerW : 0), 0);
    const limits = effectiveLimits(site, atMs);
    const parents = new Map([...site.nodes.values()].map((n) => [n.nodeId, n.parentId]));
    const atExportLimit = (nodeId: string) => {
      for (let id: string | null = nodeId; id !== null; id = parents.get(id) ?? null) {
        const flow = outcome.result!.nodeFlowW.get(id) ?? 0;
        if (new Decimal(flow).lessThanOrEqualTo(new Decimal(limits.get(id)!.exportW).negated().plus(1))) return true;
      }
      return false;
    };
    const unexplainedShortfall =
      dischargedW >= target.targetW
        ? []
        : request.sessions
            .filter((s) => s.discharge !== null && s.tier !== 'urgent')
            .filter((s) => {
              const power = result.get(s.id)?.powerW ?? 0;
              return power > -s.discharge!.maxW && !atExportLimit(s.nodeId);
            })
            .map((s) => s.id);
    report.discharge.push({ at: outcome.at, targetW: target.targetW, dischargedW, unexplainedShortfall });
  };

  for (now = at('00:00'); now <= at('23:59'); now += MINUTE) {
    // Departures first: they free connectors for this minute's arrivals.
    for (const [sessionId, session] of live) {
      if (session.arrival.departMs > now) continue;
      await recordMeter(grid, ctx, sessionId, session, now);
      await observe();
      await grid.stopSession({ sessionId, reason: 'departed' }, ctx());
      await observe();
      report.allocations++;
      report.sessions.push(outcomeOf(session, now));
      live.delete(sessionId);
    }
    while (queue.length > 0 && queue[0]!.arriveMs <= now) {
      const arrival = queue.shift()!;
      const occupied = new Set([...live.values()].map((s) => s.connectorId));
      const free = chargers.filter((c) => !occupied.has(c.connectorId) && (!arrival.v2g || c.bidirectional));
      const charger = free[0] ?? chargers.find((c) => !occupied.has(c.connectorId));
      if (!charger) {
        report.turnedAway++;
        continue;
      }
      const v2g = arrival.v2g && charger.bidirectional;
      await openAccount(`driver-${arrival.sessionId}`);
      await grid.plugIn(
        {
          sessionId: arrival.sessionId,
          siteId,
          connectorId: charger.connectorId,
          vehicleId: `ev-${arrival.sessionId}`,
          customerId: `driver-${arrival.sessionId}`,
          fleetId: null,
          tier: arrival.tier,
          departureAt: formatInstant(arrival.departMs),
          energyNeededWh: v2g ? null : arrival.neededWh.toFixed(),
          targetSocPercent: v2g ? String(arrival.targetSoc) : null,
          batteryCapacityWh: arrival.capacityWh.toFixed(),
          socPercent: String(arrival.socPercent),
          minPowerW: '1400',
          maxPowerW: String(charger.maxW),
          v2g: v2g ? { minSocPercent: '30', maxDischargePowerW: '11000' } : null,
          meterStartImportWh: '0',
          meterStartExportWh: '0',
        },
        ctx(),
      );
      await observe();
      report.allocations++;
      const neededWh = v2g ? Decimal.max(0, new Decimal(arrival.targetSoc! - arrival.socPercent).div(100).times(arrival.capacityWh)) : arrival.neededWh;
      live.set(arrival.sessionId, {
        arrival: { ...arrival, v2g, neededWh },
        connectorId: charger.connectorId,
        importWh: new Decimal(0),
        exportWh: new Decimal(0),
        poweredMinutes: 0,
        maxW: charger.maxW,
      });
    }
    if (now % (5 * MINUTE) === 0) {
      for (const [sessionId, session] of live) {
        await recordMeter(grid, ctx, sessionId, session, now);
        await observe();
      }
    }
    if (due === null || due <= now) {
      await afterAllocation(await grid.allocate(siteId, 'schedule'));
      await observe();
    } else due = nextAllocationDue(await loadSite(), now, 5 * MINUTE, CHARGER_LEAD_MS);

    // The limits must hold for the setpoints in force during this minute.
    const site = await loadSite();
    const flows = flowsOf(site);
    report.violations.push(...violationsAt(site, flows, now));
    const rootFlow = flows.get(siteId)?.toNumber() ?? 0;
    report.peakImportW = Math.max(report.peakImportW, rootFlow);
    if (now >= at('17:00') && now < at('20:00')) report.eveningPeakImportW = Math.max(report.eveningPeakImportW, rootFlow);

    // Vehicles draw their setpoint for the minute, until full; V2G ones feed back down to their reserve.
    for (const [sessionId, session] of live) {
      const setpoint = new Decimal(site.sessions.get(sessionId)?.setpointW ?? '0');
      if (setpoint.greaterThan(0)) {
        const net = session.importWh.minus(session.exportWh);
        const room = Decimal.max(0, session.arrival.neededWh.minus(net));
        const energy = Decimal.min(room, setpoint.div(60));
        session.importWh = session.importWh.plus(energy);
        if (energy.greaterThan(0)) session.poweredMinutes++;
      } else if (setpoint.lessThan(0)) {
        session.exportWh = session.exportWh.plus(setpoint.negated().div(60));
      }
    }
    // Allocations the scheduler runs within the minute (a lead before a rule boundary), at their instant.
    const minuteStart = now;
    while (due !== null && due > now && due < minuteStart + MINUTE) {
      now = due;
      await afterAllocation(await grid.allocate(siteId, 'schedule'));
      await observe();
    }
    now = minuteStart;
  }
  checkHeld(await loadSite(), now);
  for (const [, session] of live) report.sessions.push(outcomeOf(session, now));
  report.events = Number(await store.headPosition());
  return report;
}

async function recordMeter(grid: GridService, ctx: () => { actor: string; commandId: string }, sessionId: string, session: Live, now: number) {
  const soc = new Decimal(session.arrival.socPercent).plus(session.importWh.minus(session.exportWh).div(session.arrival.capacityWh).times(100));
  await grid.session(
    {
      type: 'RecordSessionMeterReading',
      sessionId,
      occurredAt: formatInstant(now),
      energyImportWh: session.importWh.toDecimalPlaces(3, Decimal.ROUND_DOWN).toFixed(),
      energyExportWh: session.exportWh.toDecimalPlaces(3, Decimal.ROUND_DOWN).toFixed(),
      powerW: null,
      socPercent: Decimal.min(100, Decimal.max(0, soc)).toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed(),
    },
    ctx(),
  );
}

function outcomeOf(session: Live, departedMs: number): SessionOutcome {
  const { arrival } = session;
  const stayH = (Math.min(arrival.departMs, departedMs) - arrival.arriveMs) / 3_600_000;
  return {
    sessionId: arrival.sessionId,
    tier: arrival.tier,
    arrivedAt: formatInstant(arrival.arriveMs),
    departedAt: formatInstant(Math.min(arrival.departMs, departedMs)),
    neededWh: arrival.neededWh.toFixed(0),
    deliveredWh: session.importWh.minus(session.exportWh).toFixed(0),
    poweredMinutes: session.poweredMinutes,
    dischargedWh: session.exportWh.toFixed(0),
    v2g: arrival.v2g,
    feasibleAlone: new Decimal(session.maxW).times(stayH).greaterThanOrEqualTo(arrival.neededWh),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const report = await simulateCarParkDay({ seed: Number(process.argv[2] ?? 1), arrivals: 150 });
  const byTier = (tier: Tier) => report.sessions.filter((s) => s.tier === tier);
  const met = (s: SessionOutcome) => new Decimal(s.deliveredWh).plus(1).greaterThanOrEqualTo(s.neededWh);
  process.stdout.write(
    [
      `arrivals ${report.arrivals}, turned away ${report.turnedAway}, allocations ${report.allocations}, events ${report.events}`,
      `limit violations: ${report.violations.length} minute by minute, ${report.boundaryViolations.length} at ${report.boundaryChecks} rule boundaries`,
      `peak import ${report.peakImportW} W (evening, capped at 150000: ${report.eveningPeakImportW} W)`,
      ...(['urgent', 'high', 'normal', 'low'] as const).map((tier) => {
        const list = byTier(tier);
        return `${tier}: ${list.length} sessions, ${list.filter(met).length} met their need, ${list.filter((s) => s.poweredMinutes > 0).length} got at least one turn`;
      }),
      `discharge request 18:00-19:00: ${report.discharge.map((d) => `${d.at.slice(11, 16)} ${d.dischargedW}/${d.targetW} W`).join(', ')}`,
    ].join('\n') + '\n',
  );
}
