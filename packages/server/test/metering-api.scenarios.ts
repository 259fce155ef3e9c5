import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSiteId, openAccounts, registerSite, startTestServer, type TestServer, type TestServerOptions } from './harness.ts';

/**
 * Metering through GraphQL, end to end: a session's connector meter and a site's node meter take
 * readings late, out of order and twice; refuse a conflicting duplicate, a register going
 * backwards, a timestamp from the future, a reading after the stop and an unknown meter, each as a
 * typed error with nothing written; and take corrections and resets as new events.
 */

const COMMON = /* GraphQL */ `
  __typename
  ... on Error { code message }
  ... on InvalidCommandError { field reason }
`;
/**
 * What a reading, a correction or a reset can meet, on either kind of meter. Inside the interface:
 * each mutation's union lists only what its command can meet (a correction no conflict, a new
 * reading no unknown reading), and a spread there is valid whichever the union lists.
 */
const METERING_ERRORS = /* GraphQL */ `
  ... on Error {
    ... on ConflictingMeterReadingError {
      sessionId meterId what occurredAt
      recorded { energyImportWh energyExportWh powerW socPercent }
      sent { energyImportWh energyExportWh powerW socPercent }
    }
    ... on MeterRegisterWentBackwardsError { sessionId meterId register previousAt previousWh newAt newWh }
    ... on MeterReadingFromFutureError { sessionId meterId occurredAt at }
    ... on UnknownMeterReadingError { sessionId meterId occurredAt }
    ... on ReadingsAfterMeterResetError { sessionId meterId occurredAt readingsAt }
  }
`;
const SEGMENTS = 'startedBy startedAt startImportWh startExportWh readingCount lastReadingAt lastImportWh lastExportWh deliveredImportWh deliveredExportWh';
const SESSION_RESULT = `${COMMON} ${METERING_ERRORS}
  ... on Error {
    # Inside the interface: a plug-in meets no closed session.
    ... on InvalidSessionRequestError { field reason }
    ... on SessionClosedError { closedSessionId: sessionId stoppedAt command }
  }
  ... on SessionCommandPayload {
    duplicate streamVersion position
    session { version lastReading { occurredAt energyImportWh energyExportWh powerW socPercent } meterSegments { ${SEGMENTS} } }
  }`;
const REGISTER_METER_RESULT = `${COMMON}
  ... on UnknownSiteError { unknownSiteId: siteId }
  ... on UnknownNodeError { nodeId }
  ... on MeterAlreadyRegisteredError { meterId siteId nodeId }
  ... on MeterCommandPayload { duplicate streamVersion position meter { meterId siteId nodeId measures version lastReading { occurredAt } segments { startedBy readingCount } } }
`;
const METER_RESULT = `${COMMON} ${METERING_ERRORS}
  ... on UnknownMeterError { unknownMeterId: meterId }
  ... on MeterCommandPayload {
    duplicate streamVersion position
    meter { meterId siteId nodeId measures version lastReading { occurredAt energyImportWh energyExportWh powerW } deliveredImportWh deliveredExportWh segments { ${SEGMENTS} } }
  }`;

export function describeMeteringApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`metering through GraphQL over ${label}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(options!);
      // The sessions' customer: a session is only plugged in for a known account.
      await openAccounts(server, 'driver-1');
    });
    afterAll(async () => {
      await server?.close();
    });

    const mutate = async (name: string, inputType: string, input: Record<string, unknown>, result: string) => {
      const { status, body } = await server.gql(`mutation($input: ${inputType}!) { ${name}(input: $input) { ${result} } }`, {
        input: { commandId: randomUUID(), ...input },
      });
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
      expect(status).toBe(200);
      return body.data![name] as Record<string, any>;
    };
    const sessionVersion = async (sessionId: string) => {
      const { body } = await server.gql<{ session: { version: number; needs: { deliveredWh: string } } }>(
        `query($sessionId: ID!) { session(sessionId: $sessionId) { version needs { deliveredWh } } }`,
        { sessionId },
      );
      expect(body.errors).toBeUndefined();
      return body.data!.session;
    };
    const readMeter = async (meterId: string) => {
      const { body } = await server.gql<{ meter: Record<string, any> | null }>(
        `query($meterId: ID!) { meter(meterId: $meterId) { meterId siteId nodeId measures version lastReading { occurredAt energyImportWh } segments { ${SEGMENTS} } deliveredImportWh deliveredExportWh } }`,
        { meterId },
      );
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
      return body.data!.meter;
    };
    /** An instant `minutes` from now, to the second (canonical form as the ledger stores it). */
    const minutesFromNow = (minutes: number) => new Date(Math.floor((Date.now() + minutes * 60_000) / 1000) * 1000).toISOString();

    /** A site with a feeder, one charger and its connector. */
    async function buildSite(): Promise<string> {
      const siteId = freshSiteId();
      expect((await registerSite(server, { siteId, importLimitW: '50000', exportLimitW: '30000' })).body.data!.registerSite.__typename).toBe('RegisterSitePayload');
      const add = async (input: Record<string, unknown>) =>
        expect(await mutate('addNode', 'AddNodeInput', { siteId, ...input }, `${COMMON} ... on SiteCommandPayload { duplicate }`)).toMatchObject({
          __typename: 'SiteCommandPayload',
        });
      await add({ nodeId: 'f1', parentId: siteId, kind: 'FEEDER', name: 'Feeder 1', importLimitW: '20000', exportLimitW: '20000' });
      await add({
        nodeId: 'cp1',
        parentId: 'f1',
        kind: 'CHARGER',
        name: 'cp1',
        importLimitW: '11000',
        exportLimitW: '11000',
        charger: { minPowerW: '1400', maxPowerW: '11000', bidirectional: true, minDischargePowerW: '1400', maxDischargePowerW: '11000' },
      });
      await add({ nodeId: 'cp1-1', parentId: 'cp1', kind: 'CONNECTOR', name: 'cp1 connector', importLimitW: '11000', exportLimitW: '11000' });
      return siteId;
    }

    it("a session's meter: late, out-of-order and repeated readings, refusals that write nothing, a correction and a reset", async () => {
      const siteId = await buildSite();
      const sessionId = `${siteId}-ev`;
      const pluggedIn = await mutate(
        'plugIn',
        'PlugInInput',
        {
          sessionId,
          siteId,
          connectorId: 'cp1-1',
          at: minutesFromNow(-120),
          vehicleId: 'ev-1',
          customerId: 'driver-1',
          tier: 'NORMAL',
          departureAt: minutesFromNow(240),
          energyNeededWh: '30000',
          minPowerW: '1400',
          maxPowerW: '11000',
          meterStartImportWh: '1000',
          meterStartExportWh: '0',
        },
        SESSION_RESULT,
      );
      expect(pluggedIn).toMatchObject({ __typename: 'SessionCommandPayload', session: { meterSegments: [{ startedBy: 'ORIGIN', startImportWh: '1000', readingCount: 0 }] } });
      const t1 = minutesFromNow(-90);
      const t2 = minutesFromNow(-60);
      const reading = (input: Record<string, unknown>) => mutate('recordSessionMeterReading', 'RecordSessionMeterReadingInput', { sessionId, ...input }, SESSION_RESULT);

      // Out of order: the later reading first; `at` is the ledger's now when left out.
      expect(await reading({ occurredAt: t2, energyImportWh: '5000', energyExportWh: '0', powerW: '7000' })).toMatchObject({
        __typename: 'SessionCommandPayload',
        duplicate: false,
        position: expect.any(String),
      });
      const late = await reading({ occurredAt: t1, energyImportWh: '3000.125', energyExportWh: '0' });
      expect(late).toMatchObject({ __typename: 'SessionCommandPayload', position: expect.any(String) });
      expect(late.session.lastReading).toEqual({ occurredAt: t2, energyImportWh: '5000', energyExportWh: '0', powerW: '7000', socPercent: null });
      expect(late.session.meterSegments).toMatchObject([{ startedBy: 'ORIGIN', readingCount: 2, deliveredImportWh: '4000' }]);

      // The same reading again, under a new command id: recorded once, nothing appended.
      const before = await sessionVersion(sessionId);
      const again = await reading({ occurredAt: t1, energyImportWh: '3000.125000', energyExportWh: '0' });
      expect(again).toMatchObject({ __typename: 'SessionCommandPayload', duplicate: false, position: null, streamVersion: before.version });

      // A conflicting duplicate: a typed error naming both values, nothing appended.
      expect(await reading({ occurredAt: t1, energyImportWh: '3100', energyExportWh: '0', socPercent: '40' })).toEqual({
        __typename: 'ConflictingMeterReadingError',
        code: 'CONFLICTING_METER_READING',
        message: expect.stringMatching(/already recorded with import 3000.125 Wh.*the one sent has import 3100 Wh/),
        sessionId,
        meterId: null,
        what: 'reading',
        occurredAt: t1,
        recorded: { energyImportWh: '3000.125', energyExportWh: '0', powerW: null, socPercent: null },
        sent: { energyImportWh: '3100', energyExportWh: '0', powerW: null, socPercent: '40' },
      });
      expect((await sessionVersion(sessionId)).version).toBe(before.version);

      // A register going backwards between its neighbours.
      expect(await reading({ occurredAt: minutesFromNow(-75), energyImportWh: '3000', energyExportWh: '0' })).toMatchObject({
        __typename: 'MeterRegisterWentBackwardsError',
        code: 'METER_REGISTER_WENT_BACKWARDS',
        sessionId,
        register: 'energyImportWh',
        previousAt: t1,
        previousWh: '3000.125',
        newWh: '3000',
      });
      // A timestamp far in the future, against the ledger's now (a client no longer gives the command's `at`).
      const future = minutesFromNow(10);
      expect(await reading({ occurredAt: future, energyImportWh: '9000', energyExportWh: '0' })).toMatchObject({
        __typename: 'MeterReadingFromFutureError',
        code: 'METER_READING_FROM_FUTURE',
        sessionId,
        occurredAt: future,
      });
      // More than 3 decimals: refused at the edge, before the session is read (issue 12, item 18).
      expect(await reading({ occurredAt: minutesFromNow(-50), energyImportWh: '5000.0001', energyExportWh: '0' })).toMatchObject({
        __typename: 'InvalidCommandError',
        field: 'energyImportWh',
      });
      expect((await sessionVersion(sessionId)).version).toBe(before.version);

      // A correction is a new event.
      const correct = (input: Record<string, unknown>) => mutate('correctSessionMeterReading', 'CorrectSessionMeterReadingInput', { sessionId, ...input }, SESSION_RESULT);
      const neverRead = minutesFromNow(-80);
      expect(await correct({ occurredAt: neverRead, energyImportWh: '4000', energyExportWh: '0', reason: 'misread' })).toMatchObject({
        __typename: 'UnknownMeterReadingError',
        sessionId,
        occurredAt: neverRead,
      });
      const corrected = await correct({ occurredAt: t2, energyImportWh: '4800', energyExportWh: '0', powerW: '6800', reason: 'meter re-read' });
      expect(corrected).toMatchObject({ __typename: 'SessionCommandPayload', streamVersion: before.version + 1, position: expect.any(String) });
      expect(corrected.session.lastReading).toEqual({ occurredAt: t2, energyImportWh: '4800', energyExportWh: '0', powerW: '6800', socPercent: null });
      expect((await sessionVersion(sessionId)).needs.deliveredWh).toBe('3800');

      // The meter is replaced: a reset, then readings from its values.
      const reset = (input: Record<string, unknown>) => mutate('resetSessionMeter', 'ResetSessionMeterInput', { sessionId, ...input }, SESSION_RESULT);
      expect(await reset({ occurredAt: t1, energyImportWh: '0', energyExportWh: '0', reason: 'meter replaced' })).toMatchObject({
        __typename: 'ReadingsAfterMeterResetError',
        sessionId,
        occurredAt: t1,
        readingsAt: [t1, t2],
      });
      const t3 = minutesFromNow(-45);
      const replaced = await reset({ occurredAt: t3, energyImportWh: '10', energyExportWh: '0', reason: 'meter replaced' });
      expect(replaced).toMatchObject({ __typename: 'SessionCommandPayload', position: expect.any(String) });
      const t4 = minutesFromNow(-30);
      const afterReset = await reading({ occurredAt: t4, energyImportWh: '510', energyExportWh: '2' });
      expect(afterReset.session.meterSegments).toMatchObject([
        { startedBy: 'ORIGIN', readingCount: 2, lastReadingAt: t2, deliveredImportWh: '3800' },
        { startedBy: 'RESET', startedAt: t3, startImportWh: '10', readingCount: 1, lastImportWh: '510', deliveredImportWh: '500', deliveredExportWh: '2' },
      ]);
      // (4800 − 1000) + (510 − 10) − 2
      expect((await sessionVersion(sessionId)).needs.deliveredWh).toBe('4298');

      // After the stop: a reading taken before it still counts, one taken after it does not.
      expect(await mutate('stopSession', 'StopSessionInput', { sessionId, reason: 'departed' }, `${COMMON} ... on SessionCommandPayload { duplicate }`)).toMatchObject({
        __typename: 'SessionCommandPayload',
      });
      expect(await reading({ occurredAt: minutesFromNow(-10), energyImportWh: '700', energyExportWh: '2' })).toMatchObject({
        __typename: 'SessionCommandPayload',
        position: expect.any(String),
      });
      const stopped = await sessionVersion(sessionId);
      expect(await reading({ occurredAt: minutesFromNow(2), energyImportWh: '800', energyExportWh: '2' })).toMatchObject({
        __typename: 'SessionClosedError',
        code: 'SESSION_CLOSED',
        closedSessionId: sessionId,
        command: 'RecordSessionMeterReading',
      });
      expect(await reset({ occurredAt: minutesFromNow(2), energyImportWh: '0', energyExportWh: '0', reason: 'meter replaced' })).toMatchObject({
        __typename: 'SessionClosedError',
        command: 'ResetSessionMeter',
      });
      expect((await sessionVersion(sessionId)).version).toBe(stopped.version);
    });

    it("a site's node meter: registration checks the site and the node; readings, refusals, a correction and a reset", async () => {
      const siteId = await buildSite();
      const meterId = `${siteId}-pv`;
      const register = (input: Record<string, unknown>) =>
        mutate('registerMeter', 'RegisterMeterInput', { meterId, siteId, nodeId: 'f1', measures: 'GENERATION', ...input }, REGISTER_METER_RESULT);
      expect(await register({ siteId: `${siteId}-x` })).toMatchObject({ __typename: 'UnknownSiteError', code: 'UNKNOWN_SITE', unknownSiteId: `${siteId}-x` });
      expect(await register({ nodeId: 'nowhere' })).toMatchObject({ __typename: 'UnknownNodeError', code: 'UNKNOWN_NODE', nodeId: 'nowhere' });
      expect(await readMeter(meterId)).toBeNull();
      const reading = (input: Record<string, unknown>) => mutate('recordMeterReading', 'RecordMeterReadingInput', { meterId, ...input }, METER_RESULT);
      const t1 = minutesFromNow(-90);
      const t2 = minutesFromNow(-60);

      // An unknown meter.
      expect(await reading({ occurredAt: t1, energyImportWh: '0', energyExportWh: '100' })).toEqual(
        expect.objectContaining({ __typename: 'UnknownMeterError', code: 'UNKNOWN_METER', unknownMeterId: meterId }),
      );

      expect(await register({})).toMatchObject({
        __typename: 'MeterCommandPayload',
        meter: { meterId, siteId, nodeId: 'f1', measures: 'GENERATION', version: 1, lastReading: null, segments: [{ startedBy: 'FIRST_READING', readingCount: 0 }] },
      });
      expect(await register({ nodeId: siteId })).toMatchObject({ __typename: 'MeterAlreadyRegisteredError', meterId, nodeId: 'f1' });

      // Out of order, then the same again.
      expect(await reading({ occurredAt: t2, energyImportWh: '0', energyExportWh: '2500.5', powerW: '-3000' })).toMatchObject({
        __typename: 'MeterCommandPayload',
        position: expect.any(String),
      });
      expect(await reading({ occurredAt: t1, energyImportWh: '0', energyExportWh: '1000' })).toMatchObject({
        meter: { version: 3, lastReading: { occurredAt: t2, energyExportWh: '2500.5', powerW: '-3000' }, deliveredExportWh: '1500.5' },
      });
      expect(await reading({ occurredAt: t1, energyImportWh: '0', energyExportWh: '1000' })).toMatchObject({ __typename: 'MeterCommandPayload', position: null, streamVersion: 3 });

      // Refusals: nothing appended.
      expect(await reading({ occurredAt: t1, energyImportWh: '0', energyExportWh: '1001' })).toMatchObject({
        __typename: 'ConflictingMeterReadingError',
        meterId,
        sessionId: null,
        what: 'reading',
        occurredAt: t1,
        recorded: { energyExportWh: '1000', powerW: null, socPercent: null },
        sent: { energyExportWh: '1001' },
      });
      expect(await reading({ occurredAt: minutesFromNow(-30), energyImportWh: '0', energyExportWh: '2500' })).toMatchObject({
        __typename: 'MeterRegisterWentBackwardsError',
        meterId,
        register: 'energyExportWh',
        previousAt: t2,
        previousWh: '2500.5',
        newWh: '2500',
      });
      expect(await reading({ occurredAt: minutesFromNow(6), energyImportWh: '0', energyExportWh: '3000' })).toMatchObject({ __typename: 'MeterReadingFromFutureError', meterId });
      expect(await reading({ occurredAt: minutesFromNow(-1), energyImportWh: '0', energyExportWh: '3000.0001' })).toMatchObject({
        __typename: 'InvalidCommandError',
        field: 'energyExportWh',
      });
      expect((await readMeter(meterId))!.version).toBe(3);

      // A correction and a reset.
      expect(
        await mutate('correctMeterReading', 'CorrectMeterReadingInput', { meterId, occurredAt: t1, energyImportWh: '0', energyExportWh: '900', reason: 'misread' }, METER_RESULT),
      ).toMatchObject({ __typename: 'MeterCommandPayload', meter: { version: 4, deliveredExportWh: '1600.5' } });
      const t3 = minutesFromNow(-45);
      expect(
        await mutate('resetMeter', 'ResetMeterInput', { meterId, occurredAt: t3, energyImportWh: '0', energyExportWh: '0', reason: 'inverter replaced' }, METER_RESULT),
      ).toMatchObject({
        __typename: 'MeterCommandPayload',
        meter: { version: 5 },
      });
      await reading({ occurredAt: minutesFromNow(-15), energyImportWh: '0', energyExportWh: '400' });
      expect(await readMeter(meterId)).toMatchObject({
        version: 6,
        deliveredExportWh: '2000.5',
        segments: [
          { startedBy: 'FIRST_READING', startedAt: null, readingCount: 2, deliveredExportWh: '1600.5' },
          { startedBy: 'RESET', startedAt: t3, startExportWh: '0', readingCount: 1, lastExportWh: '400', deliveredExportWh: '400' },
        ],
      });
    });
  });
}
