import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { InvalidCommand } from '../errors.ts';
import { accountDecider, accountStreamId, withAssignment } from './account.ts';
import { TariffAssignmentConflict } from './billing-errors.ts';
import type { AccountCommand, AccountEvent } from './billing-types.ts';

const given = givenFor(accountDecider);
const ACCOUNT = 'fleet-7'; // a customer or fleet id, named in its account-<id> stream

const assign = (tariffId: string, validFrom: string, validTo: string | null): AccountCommand => ({
  type: 'AssignTariff',
  accountId: ACCOUNT,
  at: '2026-10-20T09:00Z',
  tariffId,
  validFrom,
  validTo,
});
const assigned = (tariffId: string, validFrom: string, validTo: string | null): AccountEvent => ({
  type: 'TariffAssigned',
  data: { accountId: ACCOUNT, tariffId, validFrom, validTo },
});

const NOV = '2026-11-01T00:00:00.000Z';
const NOV_15 = '2026-11-15T00:00:00.000Z';
const DEC = '2026-12-01T00:00:00.000Z';
const JAN = '2027-01-01T00:00:00.000Z';

const periodsAfter = (events: AccountEvent[]) => events.reduce(accountDecider.evolve, accountDecider.initialState()).periods;

describe('account decider', () => {
  it('names its stream by account id', () => {
    expect(accountStreamId('cust-1')).toBe('account-cust-1');
  });

  it('assigns a tariff, with canonical instants', () => {
    given([])
      .when(assign('home', '2026-11-01T00:00Z', null))
      .then([assigned('home', NOV, null)]);
    expect(periodsAfter([assigned('home', NOV, null)])).toEqual([{ tariffId: 'home', validFrom: NOV, validTo: null }]);
  });

  it('ends the open-ended period when a new one starts inside it (a change of tariff mid-month)', () => {
    const history = [assigned('home', NOV, null)];
    given(history)
      .when(assign('dyn', NOV_15, null))
      .then([assigned('dyn', NOV_15, null)]);
    expect(periodsAfter([...history, assigned('dyn', NOV_15, null)])).toEqual([
      { tariffId: 'home', validFrom: NOV, validTo: NOV_15 },
      { tariffId: 'dyn', validFrom: NOV_15, validTo: null },
    ]);
    // A closed period inside the open one ends it too: nothing is assigned after it.
    expect(periodsAfter([...history, assigned('promo', NOV_15, DEC)])).toEqual([
      { tariffId: 'home', validFrom: NOV, validTo: NOV_15 },
      { tariffId: 'promo', validFrom: NOV_15, validTo: DEC },
    ]);
  });

  it('refuses a period that overlaps a closed one, naming both', () => {
    const history = [assigned('promo', NOV, DEC)];
    given(history)
      .when(assign('home', NOV_15, null))
      .thenThrows(TariffAssignmentConflict, {
        accountId: ACCOUNT,
        requested: { tariffId: 'home', validFrom: NOV_15, validTo: null },
        existing: { tariffId: 'promo', validFrom: NOV, validTo: DEC },
      });
    given(history)
      .when(assign('home', '2026-10-01T00:00Z', '2026-11-01T00:00:00.001Z'))
      .thenThrows(TariffAssignmentConflict);
    // Adjacent periods do not overlap ([validFrom, validTo) is half-open).
    given(history)
      .when(assign('home', DEC, null))
      .then([assigned('home', DEC, null)]);
    given(history)
      .when(assign('old', '2026-10-01T00:00Z', NOV))
      .then([assigned('old', '2026-10-01T00:00:00.000Z', NOV)]);
  });

  it('refuses a period starting at or before the open one and reaching into it', () => {
    const history = [assigned('home', NOV, null)];
    given(history)
      .when(assign('dyn', NOV, null))
      .thenThrows(TariffAssignmentConflict, { requested: { tariffId: 'dyn', validFrom: NOV, validTo: null }, existing: { tariffId: 'home', validFrom: NOV, validTo: null } });
    given(history)
      .when(assign('dyn', '2026-10-01T00:00Z', NOV_15))
      .thenThrows(TariffAssignmentConflict, { existing: { tariffId: 'home', validFrom: NOV, validTo: null } });
    // Entirely before the open one: no overlap, a period filled in afterwards.
    given(history)
      .when(assign('old', '2026-10-01T00:00Z', NOV))
      .then([assigned('old', '2026-10-01T00:00:00.000Z', NOV)]);
  });

  it('does nothing when the same period is assigned again', () => {
    given([assigned('home', NOV, DEC)])
      .when(assign('home', NOV, DEC))
      .then([]);
  });

  it('after a change of tariff, refuses to re-open the ended period', () => {
    const history = [assigned('home', NOV, null), assigned('dyn', DEC, null)];
    given(history)
      .when(assign('home', NOV, null))
      .thenThrows(TariffAssignmentConflict, { existing: { tariffId: 'home', validFrom: NOV, validTo: DEC } });
    given(history)
      .when(assign('promo', JAN, null))
      .then([assigned('promo', JAN, null)]);
  });

  it.each([
    ['an empty account id', { accountId: '' }, 'accountId'],
    ['an account id with surrounding spaces', { accountId: ' a' }, 'accountId'],
    ['a bad tariff id', { tariffId: 'a b' }, 'tariffId'],
    ['a bad validFrom', { validFrom: '2026-11-01' }, 'validFrom'],
    ['a bad validTo', { validTo: 'never' }, 'validTo'],
    ['validTo equal to validFrom', { validTo: NOV }, 'validTo'],
    ['validTo before validFrom', { validTo: '2026-10-01T00:00Z' }, 'validTo'],
    ['a bad at', { at: 17 }, 'at'],
  ])('refuses %s, naming the field', (_, overrides, field) => {
    given([])
      .when({ ...assign('home', NOV, null), ...(overrides as Partial<AccountCommand>) })
      .thenThrows(InvalidCommand, { field });
  });

  it("refuses another account on this account's stream", () => {
    given([assigned('home', NOV, null)])
      .when({ ...assign('dyn', DEC, null), accountId: 'other' })
      .thenThrows(InvalidCommand, { field: 'accountId' });
  });

  it('withAssignment keeps the fields of a read model (an event position)', () => {
    const periods = [{ tariffId: 'home', validFrom: NOV, validTo: null, position: '7' }];
    expect(withAssignment(periods, { tariffId: 'dyn', validFrom: NOV_15, validTo: null, position: '9' })).toEqual([
      { tariffId: 'home', validFrom: NOV, validTo: NOV_15, position: '7' },
      { tariffId: 'dyn', validFrom: NOV_15, validTo: null, position: '9' },
    ]);
    expect(periods[0]!.validTo).toBeNull();
  });
});
