import { ORDER_BOOK_REFUSALS, SITE_REFUSALS } from '@v2g/domain';
import { isUnionType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from './schema/index.ts';

/** The members of a mutation's result union (its payload and the errors it can return). */
function members(union: string): string[] {
  const type = schema.getType(union);
  if (!isUnionType(type)) throw new Error(`${union} is not a union`);
  return type.getTypes().map((t) => t.name).sort();
}

/** The GraphQL error type of each domain refusal: the class's name plus "Error". */
const errorTypes = (classes: readonly { name: string }[]) => classes.map((c) => `${c.name}Error`);

describe('result unions: what each mutation can actually return', () => {
  it('lists for addNode only the refusals of AddNode: never a discharge request\'s', () => {
    expect(members('AddNodeResult')).not.toContain('DischargeRequestAlreadyExistsError');
    expect(members('AddNodeResult')).toEqual(
      ['SiteCommandPayload', 'CommandIdReusedError', 'StreamVersionConflictError', 'InvalidCommandError', 'UnknownSiteError', 'NodeAlreadyExistsError', 'UnknownNodeError', 'InvalidNodePlacementError'].sort(),
    );
  });

  it('builds every site mutation\'s union from its command\'s refusals in the domain', () => {
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

  it('builds the order mutations\' unions from the book\'s refusals: a cancel lists no price or quantity refusal', () => {
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
});
