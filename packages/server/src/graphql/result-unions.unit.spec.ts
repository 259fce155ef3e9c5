import { METER_REFUSALS, ORDER_BOOK_REFUSALS, SESSION_REFUSALS, SITE_REFUSALS } from '@v2g/domain';
import { isUnionType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from './schema/index.ts';

/** The members of a mutation's result union (its payload and the errors it can return). */
function members(union: string): string[] {
  const type = schema.getType(union);
  if (!isUnionType(type)) throw new Error(`${union} is not a union`);
  return type
    .getTypes()
    .map((t) => t.name)
    .sort();
}

/** The GraphQL error type of each domain refusal: the class's name plus "Error". */
const errorTypes = (classes: readonly { name: string }[]) => classes.map((c) => `${c.name}Error`);

describe('result unions: what each mutation can actually return', () => {
  it("lists for addNode only the refusals of AddNode: never a discharge request's", () => {
    expect(members('AddNodeResult')).not.toContain('DischargeRequestAlreadyExistsError');
    expect(members('AddNodeResult')).toEqual(
      [
        'SiteCommandPayload',
        'CommandIdReusedError',
        'StreamVersionConflictError',
        'InvalidCommandError',
        'UnknownSiteError',
        'NodeAlreadyExistsError',
        'UnknownNodeError',
        'InvalidNodePlacementError',
      ].sort(),
    );
  });

  it("builds every site mutation's union from its command's refusals in the domain", () => {
    const mutation = schema.getMutationType()!;
    const checked: string[] = [];
    for (const type of Object.keys(SITE_REFUSALS) as (keyof typeof SITE_REFUSALS)[]) {
      // A command sent by a mutation of its name (AssignSetpoints is allocateSite's, with the allocation's refusals).
      const field = mutation.getFields()[`${type[0]!.toLowerCase()}${type.slice(1)}`];
      if (!field) continue;
      expect(String(field.type)).toBe(`${type}Result!`);
      checked.push(type);
      const union = members(`${type}Result`);
      for (const error of errorTypes(SITE_REFUSALS[type])) expect(union, `${type}Result`).toContain(error);
      const extra = union.filter((m) => m.endsWith('Error') && !errorTypes(SITE_REFUSALS[type]).includes(m));
      // Besides the decider's: the store's refusals, and a load reading's field-time bounds.
      expect(extra.sort(), `${type}Result`).toEqual(['CommandIdReusedError', 'StreamVersionConflictError', ...(type === 'RecordNodeLoad' ? ['TimeOutOfBoundsError'] : [])].sort());
    }
    expect(checked.length).toBe(Object.keys(SITE_REFUSALS).length - 3); // all but OccupyConnector, ReleaseConnector (plugIn, stopSession) and AssignSetpoints
  });

  it("builds the order mutations' unions from the book's refusals: a cancel lists no price or quantity refusal", () => {
    expect(members('CancelOrderResult')).toEqual(
      ['MarketCommandPayload', 'CommandIdReusedError', 'StreamVersionConflictError', ...errorTypes(ORDER_BOOK_REFUSALS.CancelOrder)].sort(),
    );
    expect(members('CancelOrderResult')).not.toContain('PriceNotOnTickError');
    const store = ['CommandIdReusedError', 'StreamVersionConflictError'];
    // Submitting also meets the zone's checks before the book decides: its product, its participants.
    for (const union of ['SubmitOrderResult', 'SubmitOrdersResult']) {
      const payload = union === 'SubmitOrderResult' ? 'SubmitOrderPayload' : 'SubmitOrdersPayload';
      expect(members(union)).toEqual([...new Set([payload, ...store, ...errorTypes(ORDER_BOOK_REFUSALS.SubmitOrders), 'UnknownParticipantError'])].sort());
    }
    expect(members('AmendOrderResult')).toEqual(['MarketCommandPayload', ...store, ...errorTypes(ORDER_BOOK_REFUSALS.AmendOrder)].sort());
    expect(members('CloseGateResult')).toEqual(['MarketCommandPayload', ...store, ...errorTypes(ORDER_BOOK_REFUSALS.CloseGate)].sort());
    expect(members('ConfigureMarketZoneResult')).toEqual(['CommandIdReusedError', 'InvalidCommandError', 'MarketZonePayload', 'StreamVersionConflictError']);
  });

  const store = ['CommandIdReusedError', 'InvalidCommandError', 'StreamVersionConflictError'];

  it("lists for suspendSession only what suspending meets: no connector's, no meter's, no time bound", () => {
    const union = members('SuspendSessionResult');
    for (const other of ['ConnectorInUseError', 'NoCommonPowerError', 'MeterRegisterWentBackwardsError', 'TimeOutOfBoundsError', 'AccountNotFoundError'])
      expect(union).not.toContain(other);
    expect(union).toEqual(['SessionCommandPayload', ...store, 'InvalidSessionRequestError', 'UnknownSessionError', 'SessionClosedError', 'InvalidSessionTransitionError'].sort());
  });

  it("builds every session mutation's union from its command's refusals in the domain and what the ledger checks around it", () => {
    // Besides the session decider's: a plug-in's time bounds, billed account, site and connector
    // (OccupyConnector); a stop's time bound and a release that got in first; the clock's bounds
    // on a departure, a new reading and a reset.
    const around: Record<keyof typeof SESSION_REFUSALS, string[]> = {
      PlugIn: ['TimeOutOfBoundsError', 'AccountNotFoundError', 'UnknownSiteError', ...errorTypes(SITE_REFUSALS.OccupyConnector)],
      StopSession: ['TimeOutOfBoundsError', 'SessionNotAtConnectorError'],
      SuspendSession: [],
      ReactivateSession: [],
      ChangeDeparture: ['TimeOutOfBoundsError'],
      RecordSessionMeterReading: ['TimeOutOfBoundsError'],
      CorrectSessionMeterReading: [],
      ResetSessionMeter: ['TimeOutOfBoundsError'],
    };
    const mutation = schema.getMutationType()!;
    for (const type of Object.keys(SESSION_REFUSALS) as (keyof typeof SESSION_REFUSALS)[]) {
      const name = type === 'PlugIn' ? 'plugIn' : `${type[0]!.toLowerCase()}${type.slice(1)}`;
      expect(String(mutation.getFields()[name]?.type), name).toBe(`${type}Result!`);
      expect(members(`${type}Result`), name).toEqual([...new Set(['SessionCommandPayload', ...store, ...errorTypes(SESSION_REFUSALS[type]), ...around[type]])].sort());
    }
    // A correction states no new time; changing a departure meets no meter refusal.
    expect(members('CorrectSessionMeterReadingResult')).not.toContain('TimeOutOfBoundsError');
    expect(members('ChangeDepartureResult')).not.toContain('ConflictingMeterReadingError');
  });

  it("builds every meter mutation's union from the meter's refusals in the domain and what the metering service checks", () => {
    const around: Record<keyof typeof METER_REFUSALS, string[]> = {
      RegisterMeter: ['UnknownSiteError', 'UnknownNodeError'],
      RecordMeterReading: ['TimeOutOfBoundsError'],
      CorrectMeterReading: [],
      ResetMeter: ['TimeOutOfBoundsError'],
    };
    const mutation = schema.getMutationType()!;
    for (const type of Object.keys(METER_REFUSALS) as (keyof typeof METER_REFUSALS)[]) {
      const name = `${type[0]!.toLowerCase()}${type.slice(1)}`;
      expect(String(mutation.getFields()[name]?.type), name).toBe(`${type}Result!`);
      expect(members(`${type}Result`), name).toEqual([...new Set(['MeterCommandPayload', ...store, ...errorTypes(METER_REFUSALS[type]), ...around[type]])].sort());
    }
    expect(members('RegisterMeterResult')).not.toContain('MeterRegisterWentBackwardsError');
    expect(members('CorrectMeterReadingResult')).not.toContain('ConflictingMeterReadingError');
  });
});
