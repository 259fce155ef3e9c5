import { randomUUID } from 'node:crypto';
import { Decimal } from '@v2g/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { movableClock, queryData, sendCommand, startTestServer, waitForStream, type TestServer, type TestServerOptions } from './harness.ts';

/**
 * The tape, the positions and settlement reconcile to the cent, with one sign convention. Three
 * traders trade a 15-minute and a 60-minute product at prices that leave fractions of a cent
 * (and one negative price); the four periods of the hour are closed. For each trader, what the
 * tape says it received (sold − bought amounts), what its positions say (tradeAmount), and what
 * settlement posted (the lines' tradeAmount) are the same whole number of cents, and its energy
 * the same sold − bought (contractedKWh, contractedWh).
 */
export function describeReconciliationApi(label: string, options: TestServerOptions | null): void {
  describe.skipIf(options === null)(`tape, positions and settlement reconcile over ${label}`, () => {
    let server: TestServer;
    const clock = movableClock('2026-11-06T09:00:00Z');
    beforeAll(async () => {
      server = await startTestServer({ ...options!, clock: clock.now });
    });
    afterAll(async () => {
      await server?.close();
    });

    const run = (query: string, variables: Record<string, unknown>) => queryData(server, query, variables);
    const command = (name: string, inputType: string, input: Record<string, unknown>) => sendCommand(server, name, inputType, input);

    const tag = randomUUID().slice(0, 6);
    const zone = `R${tag}`;
    const priceZone = `Q${tag}`;
    const [A, B, C] = ['a', 'b', 'c'].map((t) => `${t}-${tag}`) as [string, string, string];
    const hour = '2026-11-06T10:00:00.000Z';
    const periods = ['10:00', '10:15', '10:30', '10:45'].map((hhmm) => `2026-11-06T${hhmm}:00.000Z`);

    it('gives each trader the same cents and the same sold − bought energy on the tape, in its positions and in settlement', async () => {
      const product = (lengthMinutes: number) => ({
        lengthMinutes,
        mode: 'CONTINUOUS',
        tickMinorPerMWh: '1',
        minPriceMinorPerMWh: '-50000',
        maxPriceMinorPerMWh: '400000',
        quantityStepKWh: '0.1',
        maxQuantityKWh: '1000',
        gateClosureMinutes: 5,
        openMinutes: 1440,
      });
      const configured = await command('configureMarketZone', 'ConfigureMarketZoneInput', {
        zone,
        currency: 'EUR',
        imbalancePriceZone: priceZone,
        products: [product(15), product(60)],
      });
      expect(configured.__typename, JSON.stringify(configured)).not.toMatch(/Error$/);
      for (const participantId of [A, B, C]) {
        expect((await command('registerParticipant', 'RegisterParticipantInput', { zone, participantId, name: participantId })).__typename).not.toMatch(/Error$/);
      }
      const published = await command('publishPrices', 'PublishPricesInput', {
        zone: priceZone,
        currency: 'EUR',
        source: 'imbalance',
        points: periods.map((start, i) => ({ start, end: new Date(Date.parse(start) + 15 * 60_000).toISOString(), priceMinorPerKWh: ['20', '7.5', '-3', '11'][i] })),
      });
      expect(published.__typename, JSON.stringify(published)).not.toMatch(/Error$/);

      // Each trade a buy and a sell at one price, matched at once: quantity × price in cents, exactly and as settled (half-even).
      const trades: [seller: string, buyer: string, lengthMinutes: number, kWh: string, priceMinorPerMWh: string][] = [
        [A, B, 15, '0.3', '12345'], // 3.7035 → 4
        [A, C, 15, '0.3', '12345'], // 3.7035 → 4
        [B, C, 15, '0.5', '9999'], // 4.9995 → 5
        [C, A, 60, '1.3', '15015'], // 19.5195 → 20, settled 5 per period
        [A, B, 15, '0.7', '-2501'], // −1.7507 → −2: A pays B
      ];
      for (const [i, [seller, buyer, lengthMinutes, quantityKWh, price]] of trades.entries()) {
        const order = (traderId: string, side: string) => ({ clientOrderId: `${side}-${i}`, traderId, side, orderType: 'LIMIT', quantityKWh, limitPriceMinorPerMWh: price });
        const submitted = await command('submitOrders', 'SubmitOrdersInput', { zone, deliveryStart: hour, lengthMinutes, orders: [order(buyer, 'BUY'), order(seller, 'SELL')] });
        expect(submitted.__typename, JSON.stringify(submitted)).not.toMatch(/Error$/);
      }
      const books = [`market-${zone}-20261106T1000Z-15m`, `market-${zone}-20261106T1000Z-60m`];
      for (const book of books) await waitForStream(server, book);

      // The hour is over: its four periods closed.
      clock.moveTo('2026-11-06T11:01:00Z');
      for (const periodStart of periods) {
        const closed = (
          await run(
            `mutation($input: CloseSettlementPeriodInput!) { closeSettlementPeriod(input: $input) { __typename ... on Error { code message } ... on CloseSettlementPeriodPayload { outcome streamId } } }`,
            { input: { commandId: randomUUID(), zone, periodStart } },
          )
        ).closeSettlementPeriod;
        expect(closed, JSON.stringify(closed)).toMatchObject({ outcome: 'CLOSED' });
        await waitForStream(server, closed.streamId);
      }

      // The tape: every trade's amount is whole cents.
      const tape: { sellerId: string; buyerId: string; quantityKWh: string; amount: { amountMinor: string } }[] = [];
      let after: string | null = null;
      for (;;) {
        const { trades: page }: any = await run(
          `query($zone: ID!, $after: String) { trades(zone: $zone, first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { sellerId buyerId quantityKWh amount { amountMinor } } } } }`,
          { zone, after },
        );
        tape.push(...page.edges.map((e: any) => e.node));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(tape.map((t) => t.amount.amountMinor)).toEqual(['4', '4', '5', '20', '-2']);

      const statements = await Promise.all(
        periods.map(
          async (periodStart) =>
            (
              await run(
                `query($zone: ID!, $p: DateTime!) { settlementStatement(zone: $zone, periodStart: $p) { lines { participantId contractedWh tradeAmount { amountMinor } } } }`,
                { zone, p: periodStart },
              )
            ).settlementStatement,
        ),
      );
      const cents = (value: string) => BigInt(value);
      const wh = (kWh: string) => BigInt(new Decimal(kWh).times(1000).toFixed());
      const figures = new Map<string, { tape: [bigint, bigint]; positions: [bigint, bigint]; settlement: [bigint, bigint] }>();
      for (const trader of [A, B, C]) {
        const fromTape = tape.reduce<[bigint, bigint]>(
          ([money, energy], t) =>
            t.sellerId === trader
              ? [money + cents(t.amount.amountMinor), energy + wh(t.quantityKWh)]
              : t.buyerId === trader
                ? [money - cents(t.amount.amountMinor), energy - wh(t.quantityKWh)]
                : [money, energy],
          [0n, 0n],
        );
        const { positions } = await run(
          `query($t: ID!) { positions(traderId: $t, from: "2026-11-06T09:00:00Z", to: "2026-11-06T12:00:00Z") { contractedKWh tradeAmount { amountMinor } } }`,
          { t: trader },
        );
        const fromPositions = (positions as { contractedKWh: string; tradeAmount: { amountMinor: string } }[]).reduce<[bigint, bigint]>(
          ([money, energy], p) => [money + cents(p.tradeAmount.amountMinor), energy + wh(p.contractedKWh)],
          [0n, 0n],
        );
        const fromSettlement = statements
          .flatMap((s) => s.lines as { participantId: string; contractedWh: string; tradeAmount: { amountMinor: string } }[])
          .filter((l) => l.participantId === trader)
          .reduce<[bigint, bigint]>(([money, energy], l) => [money + cents(l.tradeAmount.amountMinor), energy + BigInt(l.contractedWh)], [0n, 0n]);
        figures.set(trader, { tape: fromTape, positions: fromPositions, settlement: fromSettlement });
      }
      // A: +4 +4 −20 −2; B: −4 +5 +2; C: −4 −5 +20 (cents). Energy: A sold 1.3 and bought 1.3, B bought 0.3 + 0.7 and sold 0.5, C bought 0.8 and sold 1.3.
      const expected = new Map([
        [A, [-14n, 0n]],
        [B, [3n, -500n]],
        [C, [11n, 500n]],
      ]);
      for (const [trader, f] of figures) {
        expect({ trader, ...f }).toEqual({ trader, tape: expected.get(trader), positions: expected.get(trader), settlement: expected.get(trader) });
      }
    });
  });
}
