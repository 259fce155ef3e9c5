/**
 * Refusals of the site aggregate. Each has a stable `code` and `details` that name what was wrong;
 * malformed input is an `InvalidCommand(field, reason)` instead (see ../errors.ts).
 */
import { DomainError } from '../errors.ts';

export class NodeAlreadyExists extends DomainError {
  readonly code = 'NODE_ALREADY_EXISTS';
  constructor(siteId: string, nodeId: string) {
    super(`site ${siteId} already has a node ${nodeId}`, { siteId, nodeId });
  }
}

export class UnknownNode extends DomainError {
  readonly code = 'UNKNOWN_NODE';
  constructor(siteId: string, nodeId: string) {
    super(`site ${siteId} has no node ${nodeId}`, { siteId, nodeId });
  }
}

/** The tree is site → feeders/circuits (any depth) → chargers → connectors. */
export class InvalidNodePlacement extends DomainError {
  readonly code = 'INVALID_NODE_PLACEMENT';
  constructor(nodeId: string, kind: string, parentId: string, parentKind: string) {
    const allowed = kind === 'connector' ? 'a charger' : 'the site, a feeder or a circuit';
    super(`a ${kind} (${nodeId}) cannot hang below a ${parentKind} (${parentId}): its parent must be ${allowed}`, {
      nodeId,
      kind,
      parentId,
      parentKind,
    });
  }
}

export class NotACharger extends DomainError {
  readonly code = 'NOT_A_CHARGER';
  constructor(nodeId: string, kind: string) {
    super(`node ${nodeId} is a ${kind}, not a charger`, { nodeId, kind });
  }
}

export class NotAConnector extends DomainError {
  readonly code = 'NOT_A_CONNECTOR';
  constructor(nodeId: string, kind: string) {
    super(`node ${nodeId} is a ${kind}, not a connector`, { nodeId, kind });
  }
}

export class CannotRemoveRoot extends DomainError {
  readonly code = 'CANNOT_REMOVE_ROOT';
  constructor(nodeId: string) {
    super(`node ${nodeId} is the site's grid connection and cannot be removed`, { nodeId });
  }
}

export class NodeHasChildren extends DomainError {
  readonly code = 'NODE_HAS_CHILDREN';
  constructor(nodeId: string, children: readonly string[]) {
    super(`node ${nodeId} still has ${children.length} node(s) below it: remove them first`, { nodeId, children: [...children] });
  }
}

export class ConnectorInUse extends DomainError {
  readonly code = 'CONNECTOR_IN_USE';
  constructor(connectorId: string, sessionId: string) {
    super(`connector ${connectorId} is occupied by session ${sessionId}`, { connectorId, sessionId });
  }
}

export class ReadingFromFuture extends DomainError {
  readonly code = 'READING_FROM_FUTURE';
  constructor(nodeId: string, occurredAt: string, at: string) {
    super(`the reading at node ${nodeId} occurred at ${occurredAt}, more than 5 minutes after ${at}`, { nodeId, occurredAt, at });
  }
}

export class RuleAlreadyExists extends DomainError {
  readonly code = 'RULE_ALREADY_EXISTS';
  constructor(ruleId: string) {
    super(`congestion rule ${ruleId} already exists`, { ruleId });
  }
}

export class UnknownRule extends DomainError {
  readonly code = 'UNKNOWN_RULE';
  constructor(ruleId: string) {
    super(`there is no congestion rule ${ruleId}`, { ruleId });
  }
}

export class DischargeRequestAlreadyExists extends DomainError {
  readonly code = 'DISCHARGE_REQUEST_ALREADY_EXISTS';
  constructor(requestId: string) {
    super(`discharge request ${requestId} already exists`, { requestId });
  }
}

export class UnknownDischargeRequest extends DomainError {
  readonly code = 'UNKNOWN_DISCHARGE_REQUEST';
  constructor(requestId: string) {
    super(`there is no discharge request ${requestId}`, { requestId });
  }
}

export class SessionAlreadyAtSite extends DomainError {
  readonly code = 'SESSION_ALREADY_AT_SITE';
  constructor(sessionId: string, connectorId: string) {
    super(`session ${sessionId} already occupies connector ${connectorId}`, { sessionId, connectorId });
  }
}

/** A session asked to discharge (V2G) at a charger that cannot. */
export class DischargeNotSupported extends DomainError {
  readonly code = 'DISCHARGE_NOT_SUPPORTED';
  constructor(sessionId: string, connectorId: string, chargerId: string) {
    super(`session ${sessionId} consents to V2G, but charger ${chargerId} (connector ${connectorId}) is not bidirectional: send maxDischargePowerW null`, {
      sessionId,
      connectorId,
      chargerId,
    });
  }
}

/** The vehicle's bounds and the charger's have no power in common. */
export class NoCommonPower extends DomainError {
  readonly code = 'NO_COMMON_POWER';
  constructor(details: {
    sessionId: string;
    connectorId: string;
    chargerId: string;
    direction: 'charge' | 'discharge';
    sessionMinW: string;
    sessionMaxW: string;
    chargerMinW: string;
    chargerMaxW: string;
  }) {
    super(
      `session ${details.sessionId} (${details.direction} ${details.sessionMinW}..${details.sessionMaxW} W) and charger ${details.chargerId} ` +
        `(${details.chargerMinW}..${details.chargerMaxW} W) have no ${details.direction} power in common`,
      details,
    );
  }
}

export class SessionNotAtConnector extends DomainError {
  readonly code = 'SESSION_NOT_AT_CONNECTOR';
  constructor(connectorId: string, sessionId: string, occupiedBy: string | null) {
    super(occupiedBy === null ? `connector ${connectorId} is free, session ${sessionId} is not there` : `connector ${connectorId} holds session ${occupiedBy}, not ${sessionId}`, {
      connectorId,
      sessionId,
      occupiedBy,
    });
  }
}

/** An allocation names a session that occupies no connector of this site (the session stream's own `UnknownSession` is another error). */
export class SessionNotAtSite extends DomainError {
  readonly code = 'SESSION_NOT_AT_SITE';
  constructor(siteId: string, sessionId: string) {
    super(`session ${sessionId} occupies no connector of site ${siteId}`, { siteId, sessionId });
  }
}

export class AllocationOutOfOrder extends DomainError {
  readonly code = 'ALLOCATION_OUT_OF_ORDER';
  constructor(at: string, lastAllocationAt: string) {
    super(`an allocation at ${at} comes before the last one recorded, at ${lastAllocationAt}`, { at, lastAllocationAt });
  }
}

/**
 * A setpoint outside what its status allows: charging in [minW, maxW] (> 0), discharging in
 * [minW, maxW] (< 0; minW and maxW null when the session may not discharge), on_hold/done exactly 0.
 */
export class SetpointOutOfRange extends DomainError {
  readonly code = 'SETPOINT_OUT_OF_RANGE';
  constructor(sessionId: string, powerW: string, status: string, minW: string | null, maxW: string | null) {
    super(
      minW === null || maxW === null
        ? `session ${sessionId} may not be ${status} (${powerW} W): it has no discharge bounds (no V2G consent or charger)`
        : `session ${sessionId}: ${powerW} W is outside [${minW}, ${maxW}] W for status ${status}`,
      { sessionId, powerW, status, minW, maxW },
    );
  }
}

export class GridLimitExceeded extends DomainError {
  readonly code = 'GRID_LIMIT_EXCEEDED';
  constructor(details: { nodeId: string; direction: 'import' | 'export'; flowW: string; limitW: string; boundBy: string }) {
    super(`node ${details.nodeId}: net flow ${details.flowW} W breaks its ${details.direction} limit of ${details.limitW} W (set by ${details.boundBy})`, details);
  }
}
