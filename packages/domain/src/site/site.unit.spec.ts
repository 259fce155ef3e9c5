import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { givenFor } from '../../test/given.ts';
import { InvalidCommand } from '../errors.ts';
import { SiteAlreadyRegistered, siteDecider, UnknownSite, type SiteCommand, type SiteEvent } from './site.ts';

const given = givenFor(siteDecider);
const register: SiteCommand = { type: 'RegisterSite', siteId: 'depot-1', name: 'Depot 1', importLimitW: '250000', exportLimitW: '100000' };
const registered: SiteEvent = {
  type: 'SiteRegistered',
  data: { siteId: 'depot-1', name: 'Depot 1', importLimitW: '250000', exportLimitW: '100000' },
};

describe('site decider', () => {
  it('registers a site once', () => {
    given([]).when(register).then([registered]);
    given([registered]).when(register).thenThrows(SiteAlreadyRegistered, { siteId: 'depot-1' });
  });

  it('normalises decimal limits without changing their value', () => {
    given([])
      .when({ ...register, importLimitW: '11000.50', exportLimitW: '0.000' })
      .then([{ type: 'SiteRegistered', data: { ...registered.data, importLimitW: '11000.5', exportLimitW: '0' } }]);
  });

  it('refuses negative, non-decimal and numeric limits, naming the field', () => {
    given([])
      .when({ ...register, importLimitW: '-1' })
      .thenThrows(InvalidCommand, { field: 'importLimitW' });
    given([])
      .when({ ...register, exportLimitW: '1e5' })
      .thenThrows(InvalidCommand, { field: 'exportLimitW' });
    given([])
      .when({ ...register, exportLimitW: 100 as unknown as string })
      .thenThrows(InvalidCommand, { field: 'exportLimitW' });
    given([])
      .when({ ...register, siteId: 'has space' })
      .thenThrows(InvalidCommand, { field: 'siteId' });
    given([])
      .when({ ...register, name: '  ' })
      .thenThrows(InvalidCommand, { field: 'name' });
  });

  it('renames a registered site, and only when the name changes', () => {
    given([registered])
      .when({ type: 'RenameSite', siteId: 'depot-1', name: 'North depot' })
      .then([{ type: 'SiteRenamed', data: { siteId: 'depot-1', name: 'North depot' } }]);
    given([registered]).when({ type: 'RenameSite', siteId: 'depot-1', name: 'Depot 1' }).then([]);
    given([]).when({ type: 'RenameSite', siteId: 'depot-1', name: 'x' }).thenThrows(UnknownSite);
  });

  it('is deterministic: the same history and command give the same events (property)', () => {
    const limit = fc.bigInt({ min: 0n, max: 10n ** 12n }).map(String);
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/), fc.string({ minLength: 1, maxLength: 40 }), limit, limit, (siteId, name, imp, exp) => {
        const command: SiteCommand = { type: 'RegisterSite', siteId, name, importLimitW: imp, exportLimitW: exp };
        let first: unknown;
        let second: unknown;
        try {
          first = siteDecider.decide(command, siteDecider.initialState());
        } catch (e) {
          first = e;
        }
        try {
          second = siteDecider.decide(command, siteDecider.initialState());
        } catch (e) {
          second = e;
        }
        expect(second).toEqual(first);
      }),
    );
  });
});
