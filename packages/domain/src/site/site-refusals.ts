import { InvalidCommand, type DomainError } from '../errors.ts';
import {
  CannotRemoveRoot,
  ConnectorInUse,
  DischargeNotSupported,
  DischargeRequestAlreadyExists,
  InvalidNodePlacement,
  NoCommonPower,
  NodeAlreadyExists,
  NodeHasChildren,
  NotACharger,
  NotAConnector,
  ReadingFromFuture,
  RuleAlreadyExists,
  SessionAlreadyAtSite,
  SessionNotAtConnector,
  UnknownDischargeRequest,
  UnknownNode,
  UnknownRule,
  AllocationOutOfOrder,
  GridLimitExceeded,
  SessionNotAtSite,
  SetpointOutOfRange,
} from './site-errors.ts';
import type { SiteCommand } from './site-types.ts';
import { SiteAlreadyRegistered, UnknownSite } from './site.ts';

export type RefusalClass = new (...args: never[]) => DomainError;

/**
 * What the site's decider can refuse each command with, and nothing more: an API lists exactly
 * these as the command's errors (a GraphQL result union), so that an integrator handles what can
 * happen, not the whole family. `site-refusals.unit.spec.ts` runs the decider over generated
 * commands and states and fails on any refusal a list lacks.
 */
export const SITE_REFUSALS = {
  RegisterSite: [InvalidCommand, SiteAlreadyRegistered],
  RenameSite: [InvalidCommand, UnknownSite],
  ConfigureSite: [InvalidCommand, UnknownSite],
  AddNode: [InvalidCommand, UnknownSite, NodeAlreadyExists, UnknownNode, InvalidNodePlacement],
  ChangeNodeLimits: [InvalidCommand, UnknownSite, UnknownNode],
  ChangeCharger: [InvalidCommand, UnknownSite, UnknownNode, NotACharger, NoCommonPower],
  RemoveNode: [InvalidCommand, UnknownSite, UnknownNode, CannotRemoveRoot, NodeHasChildren, ConnectorInUse],
  RecordNodeLoad: [InvalidCommand, UnknownSite, UnknownNode, ReadingFromFuture],
  AddCongestionRule: [InvalidCommand, UnknownSite, RuleAlreadyExists, UnknownNode],
  RemoveCongestionRule: [InvalidCommand, UnknownSite, UnknownRule],
  RequestDischarge: [InvalidCommand, UnknownSite, UnknownNode, DischargeRequestAlreadyExists],
  CancelDischargeRequest: [InvalidCommand, UnknownSite, UnknownDischargeRequest],
  OccupyConnector: [InvalidCommand, UnknownSite, UnknownNode, NotAConnector, SessionAlreadyAtSite, ConnectorInUse, NoCommonPower, DischargeNotSupported],
  ReleaseConnector: [InvalidCommand, UnknownSite, UnknownNode, NotAConnector, SessionNotAtConnector],
  AssignSetpoints: [InvalidCommand, UnknownSite, AllocationOutOfOrder, SessionNotAtSite, SetpointOutOfRange, GridLimitExceeded],
} as const satisfies Record<SiteCommand['type'], readonly RefusalClass[]>;
