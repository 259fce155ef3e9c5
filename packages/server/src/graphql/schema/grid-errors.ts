import {
  AccountNotFound,
  TimeOutOfBounds,
  AllocationOutOfOrder,
  InvalidCommand,
  CannotRemoveRoot,
  ConnectorInUse,
  DischargeNotSupported,
  DischargeRequestAlreadyExists,
  GridLimitExceeded,
  InvalidNodePlacement,
  InvalidSessionRequest,
  InvalidSessionTransition,
  MeterRegisterWentBackwards,
  NoCommonPower,
  NodeAlreadyExists,
  NodeHasChildren,
  NotACharger,
  NotAConnector,
  ReadingFromFuture,
  RuleAlreadyExists,
  SessionAlreadyAtSite,
  SessionAlreadyExists,
  SessionClosed,
  SessionNotAtConnector,
  SessionNotAtSite,
  SetpointOutOfRange,
  UnknownDischargeRequest,
  UnknownNode,
  UnknownRule,
  UnknownSession,
  UnknownSite,
  SESSION_REFUSALS,
  SITE_REFUSALS,
  type CodedError,
  type RefusalClass,
  type SessionCommand,
  type SiteCommand,
} from '@v2g/domain';
import { builder } from '../builder.ts';
import { COMMAND_ERRORS, ErrorInterface } from './errors.ts';

/**
 * The grid's refusals as GraphQL types: each keeps its code and exposes the facts behind it (its
 * `details`) as fields, so a client can say "connector cp-1 is occupied by session s-7" without
 * parsing a message.
 */

type ErrorClass = abstract new (...args: never[]) => CodedError;

/**
 * A fact is a description (a text that is always there), or `{ about, shape }`: 'optional' text
 * may be null, 'list' is a list of texts.
 */
type Fact = string | { about: string; shape: 'optional' | 'list' };

export function errorType(errorClass: ErrorClass, name: string, description: string, facts: Record<string, Fact>) {
  // Pothos wants a concrete class; every error here is a CodedError with string-keyed details, as InvalidCommand is.
  builder.objectType(errorClass as unknown as typeof InvalidCommand, {
    name,
    description,
    interfaces: [ErrorInterface],
    fields: (t) =>
      Object.fromEntries(
        Object.entries(facts).map(([key, fact]) => {
          const value = (error: CodedError) => error.details[key];
          if (typeof fact === 'string') return [key, t.string({ description: fact, resolve: (e) => String(value(e)) })];
          switch (fact.shape) {
            case 'optional':
              return [key, t.string({ nullable: true, description: fact.about, resolve: (e) => (value(e) == null ? null : String(value(e))) })];
            case 'list':
              return [key, t.stringList({ description: fact.about, resolve: (e) => (value(e) as unknown[]).map(String) })];
            default: {
              const unreachable: never = fact.shape;
              throw new Error(`unknown fact shape ${String(unreachable)}`);
            }
          }
        }),
      ),
  });
  return errorClass;
}

errorType(GridLimitExceeded, 'GridLimitExceededError', 'An allocation would push a node past its limit.', {
  nodeId: 'The node whose limit would break.',
  direction: '"import" or "export".',
  flowW: 'The net flow the allocation would cause, W.',
  limitW: 'The limit in force, W.',
  boundBy: 'What sets the limit: "static", "headroom" or "rule:<id>".',
});
errorType(UnknownNode, 'UnknownNodeError', "No such node in the site's tree.", { siteId: 'The site.', nodeId: 'The node asked for.' });
errorType(NodeAlreadyExists, 'NodeAlreadyExistsError', 'A node id is taken.', { siteId: 'The site.', nodeId: 'The node id.' });
errorType(InvalidNodePlacement, 'InvalidNodePlacementError', 'A node of this kind cannot hang below that parent.', {
  nodeId: 'The node.',
  kind: 'Its kind.',
  parentId: 'The parent asked for.',
  parentKind: "The parent's kind.",
});
errorType(NotACharger, 'NotAChargerError', 'The node is not a charger.', { nodeId: 'The node.', kind: 'Its kind.' });
errorType(NotAConnector, 'NotAConnectorError', 'The node is not a connector.', { nodeId: 'The node.', kind: 'Its kind.' });
errorType(CannotRemoveRoot, 'CannotRemoveRootError', "The site's grid connection cannot be removed.", { nodeId: 'The root.' });
errorType(NodeHasChildren, 'NodeHasChildrenError', 'Remove the nodes below first.', { nodeId: 'The node.', children: { about: 'The nodes below it.', shape: 'list' } });
errorType(ConnectorInUse, 'ConnectorInUseError', 'The connector is occupied.', { connectorId: 'The connector.', sessionId: 'The session there.' });
errorType(ReadingFromFuture, 'ReadingFromFutureError', 'A reading dated more than five minutes ahead.', {
  nodeId: 'The node.',
  occurredAt: "The reading's time.",
  at: 'The time of the command.',
});
errorType(RuleAlreadyExists, 'RuleAlreadyExistsError', 'A rule id is taken.', { ruleId: 'The rule.' });
errorType(UnknownRule, 'UnknownRuleError', 'No such congestion rule.', { ruleId: 'The rule.' });
errorType(DischargeRequestAlreadyExists, 'DischargeRequestAlreadyExistsError', 'A request id is taken.', { requestId: 'The request.' });
errorType(UnknownDischargeRequest, 'UnknownDischargeRequestError', 'No such discharge request.', { requestId: 'The request.' });
errorType(SessionAlreadyAtSite, 'SessionAlreadyAtSiteError', 'The session already occupies a connector.', { sessionId: 'The session.', connectorId: 'Its connector.' });
errorType(DischargeNotSupported, 'DischargeNotSupportedError', 'V2G consent at a charger that cannot discharge.', {
  sessionId: 'The session.',
  connectorId: 'The connector.',
  chargerId: 'The charger.',
});
errorType(NoCommonPower, 'NoCommonPowerError', "The vehicle's and the charger's power bounds do not overlap.", {
  sessionId: 'The session.',
  chargerId: 'The charger.',
  direction: '"charge" or "discharge".',
  sessionMinW: 'W',
  sessionMaxW: 'W',
  chargerMinW: 'W',
  chargerMaxW: 'W',
});
errorType(SessionNotAtConnector, 'SessionNotAtConnectorError', 'The session is not at that connector.', {
  connectorId: 'The connector.',
  sessionId: 'The session.',
  occupiedBy: { about: 'Who is there, if anyone.', shape: 'optional' },
});
errorType(SessionNotAtSite, 'SessionNotAtSiteError', 'An allocation names a session that occupies no connector of the site.', { siteId: 'The site.', sessionId: 'The session.' });
errorType(AllocationOutOfOrder, 'AllocationOutOfOrderError', 'An allocation dated before the last one.', { at: 'Its time.', lastAllocationAt: "The last one's." });
errorType(SetpointOutOfRange, 'SetpointOutOfRangeError', "A setpoint outside the session's bounds for its status.", {
  sessionId: 'The session.',
  powerW: 'The setpoint, W.',
  status: 'The status it came with.',
  minW: { about: 'Lower bound, W; null when it may not take that status.', shape: 'optional' },
  maxW: { about: 'Upper bound, W.', shape: 'optional' },
});
errorType(InvalidSessionRequest, 'InvalidSessionRequestError', 'A plug-in request the ledger cannot accept.', {
  field: 'The input field at fault.',
  reason: 'Why.',
});
errorType(SessionAlreadyExists, 'SessionAlreadyExistsError', 'The session id is taken.', { sessionId: 'The session.' });
errorType(UnknownSession, 'UnknownSessionError', 'No such session.', { sessionId: 'The session.' });
errorType(SessionClosed, 'SessionClosedError', 'The session has stopped.', {
  sessionId: 'The session.',
  stoppedAt: { about: 'When.', shape: 'optional' },
  command: 'What was refused.',
});
errorType(InvalidSessionTransition, 'InvalidSessionTransitionError', 'Suspending a session that is not active, or reactivating one that is not suspended.', {
  sessionId: 'The session.',
  status: 'Its status.',
  command: 'What was refused.',
});
errorType(MeterRegisterWentBackwards, 'MeterRegisterWentBackwardsError', 'A cumulative register below an earlier reading of the same meter segment, or above a later one.', {
  sessionId: { about: "The session, for a session's meter.", shape: 'optional' },
  meterId: { about: 'The meter, for a site or node meter.', shape: 'optional' },
  register: 'Which register.',
  previousAt: 'When the neighbouring reading was taken.',
  previousWh: 'Its register, Wh.',
  newAt: 'When the refused reading was taken.',
  newWh: 'Its register, Wh.',
});

/** Refusals of the ledger's grid service before the site decides (the field-time bounds of a load reading). */
const SITE_SERVICE_REFUSALS: Partial<Record<SiteCommand['type'], readonly RefusalClass[]>> = { RecordNodeLoad: [TimeOutOfBounds] };

/**
 * What one site command can meet, and nothing else: what the site's decider refuses it with
 * (SITE_REFUSALS, checked against the decider by a property test in the domain), what the grid
 * service checks before, and the store's refusals every command meets.
 */
export function siteCommandErrors(type: SiteCommand['type']): RefusalClass[] {
  return [...new Set<RefusalClass>([...COMMAND_ERRORS, ...SITE_REFUSALS[type], ...(SITE_SERVICE_REFUSALS[type] ?? [])])];
}

/**
 * What the ledger (grid-service.ts) and the resolver check around the session's decider, per
 * session mutation, and the site command a mutation sends besides: a plug-in's field time and
 * departure are bounded by the ledger's clock, its billed account must exist (GridService.plugIn),
 * its site must exist and its connector take it (OccupyConnector); a stop's unplug time is
 * bounded, and it frees the connector (ReleaseConnector: the session's own connector, which can
 * neither be removed nor change kind while occupied, at a site that holds it, so only a release
 * that got in first is left); a new departure, a new reading and a reset are bounded by the
 * clock; a suspend, a reactivation and a correction state no time and meet the session alone.
 */
const SESSION_MUTATIONS = {
  plugIn: { command: 'PlugIn', around: [TimeOutOfBounds, AccountNotFound, UnknownSite, ...SITE_REFUSALS.OccupyConnector] },
  stopSession: { command: 'StopSession', around: [TimeOutOfBounds, SessionNotAtConnector] },
  suspendSession: { command: 'SuspendSession', around: [] },
  reactivateSession: { command: 'ReactivateSession', around: [] },
  changeDeparture: { command: 'ChangeDeparture', around: [TimeOutOfBounds] },
  recordSessionMeterReading: { command: 'RecordSessionMeterReading', around: [TimeOutOfBounds] },
  correctSessionMeterReading: { command: 'CorrectSessionMeterReading', around: [] },
  resetSessionMeter: { command: 'ResetSessionMeter', around: [TimeOutOfBounds] },
} as const satisfies Record<string, { command: SessionCommand['type']; around: readonly RefusalClass[] }>;

export type SessionMutation = keyof typeof SESSION_MUTATIONS;

/**
 * What one session mutation can meet, and nothing else: what the session's decider refuses its
 * command with (SESSION_REFUSALS, checked against the decider by a property test in the domain),
 * what is checked around it (SESSION_MUTATIONS), and the store's refusals every command meets.
 */
export function sessionMutationErrors(mutation: SessionMutation): RefusalClass[] {
  const { command, around } = SESSION_MUTATIONS[mutation];
  return [...new Set<RefusalClass>([...COMMAND_ERRORS, ...SESSION_REFUSALS[command], ...around])];
}

/** What recording an allocation can meet. */
export const ALLOCATION_ERRORS = [...COMMAND_ERRORS, UnknownSite, SessionNotAtSite, AllocationOutOfOrder, SetpointOutOfRange, GridLimitExceeded];
