import { connectPostgres, type SqlClient } from '@v2g/event-store';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AsOfInvoices, asOfInvoices } from '../src/as-of.ts';
import { billingProjection } from '@v2g/projection-billing';
import { TooManyRequests } from '../src/graphql/errors.ts';
import { openAccounts, sendCommand, startTestServer, TEST_OPERATOR_ACTOR, waitForStream, type TestServer } from './harness.ts';

/**
 * What one caller may have in progress of as-of questions is bounded: one more is refused at once
 * with TOO_MANY_REQUESTS and a retry hint (never queued), and another caller is not held up behind
 * them. The questions are held in progress by the billing read model lagging behind the log (each
 * waits for it to reach the head it saw): on the server by a transaction holding billing's
 * checkpoint row, on PGlite by a projection status that answers "behind" until released.
 */
const postgresUrl = inject('postgresUrl');

const INVOICE = `query($accountId: ID!, $asOf: DateTime) { invoice(accountId: $accountId, month: "2026-11", asOf: $asOf) { __typename ... on Invoice { total { amountMinor } } } }`;

const until = async (what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe.skipIf(postgresUrl === null)('as-of questions per caller are bounded (GraphQL, PostgreSQL server)', () => {
  let server: TestServer;
  let holder: SqlClient;
  beforeAll(async () => {
    server = await startTestServer({ databaseUrl: postgresUrl });
    holder = await connectPostgres(postgresUrl!, { applicationName: 'v2g-test-asof-limit' });
  });
  afterAll(async () => {
    await holder?.close();
    await server?.close();
  });

  it("refuses a driver's fifth as-of invoice in progress with TOO_MANY_REQUESTS at once, and still answers the operator and the four", async () => {
    const customerId = `cust-limit-${Date.now()}`;
    await openAccounts(server, customerId); // a driver key acts for a known account
    await waitForStream(server, `account-${customerId}`); // and its invoice is of an account the billing read model knows
    const driver = await server.as('driver', customerId);
    const schema = /^"([^"]+)"\./.exec(server.ledger.projections.tables(billingProjection)('sessions'))![1]!;
    const answers = asOfInvoices(server.ledger);
    const asOf = new Date(server.ledger.grid.service.now() - 1000).toISOString();
    const status = async () => (await server.ledger.projections.status()).find((p) => p.name === 'billing')!;

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // No projection can start a batch (each first locks its checkpoint row) while this transaction
    // holds the checkpoints table. A table lock takes no transaction id, so the log's readable head
    // is not held back by it (a row lock would be).
    const holding = holder.transaction(async (tx) => {
      await tx.query(`LOCK TABLE "${schema}".projection_checkpoints IN EXCLUSIVE MODE`);
      locked();
      await released;
    });
    try {
      await isLocked;
      const tariff = await sendCommand(server, 'defineTariff', 'DefineTariffInput', {
        tariff: {
          tariffId: `limit-${Date.now()}`,
          name: 'Limit',
          currency: 'EUR',
          energy: { fixed: { priceMinorPerKWh: '30' } },
          speedBands: [],
          sessionFeeMinor: null,
          exportCredit: null,
        },
      });
      expect(tariff.__typename).not.toMatch(/Error$/);
      await until('the head past billing', async () => (await server.ledger.store.headPosition()) > (await status()).checkpoint);

      const four = Array.from({ length: answers.perPrincipal }, () => server.gql<any>(INVOICE, { accountId: customerId, asOf }, driver.headers));
      await until('four in progress', () => answers.inProgressFor(driver.actor) === answers.perPrincipal);
      const started = Date.now();
      const fifth = await server.gql<any>(INVOICE, { accountId: customerId, asOf }, driver.headers);
      expect(Date.now() - started).toBeLessThan(2_000);
      const refusal = fifth.body.errors?.[0];
      expect(refusal?.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', details: { limit: answers.perPrincipal, retryAfterMs: expect.any(Number) } });
      expect((refusal?.extensions as { details: { retryAfterMs: number } }).details.retryAfterMs).toBeGreaterThan(0);
      expect(refusal?.message).toMatch(/at most 4 at once; retry in \d+ ms/);
      // Another caller has its own allowance: the operator's question is taken, not refused.
      const operator = server.gql<any>(INVOICE, { accountId: customerId, asOf });
      await until("the operator's in progress", () => answers.inProgressFor(TEST_OPERATOR_ACTOR) === 1);
      expect(answers.inProgressFor(driver.actor)).toBe(answers.perPrincipal);

      release();
      await holding;
      for (const response of [...(await Promise.all(four)), await operator]) {
        expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
        expect(response.body.data.invoice).toEqual({ __typename: 'Invoice', total: { amountMinor: '0' } });
      }
      expect(answers.inProgressFor(driver.actor)).toBe(0);
      // Taken again once they are done.
      expect((await server.gql<any>(INVOICE, { accountId: customerId, asOf }, driver.headers)).body.data.invoice.__typename).toBe('Invoice');
    } finally {
      release();
      await holding.catch(() => {});
    }
  }, 120_000);
});

describe('as-of questions per caller are bounded (PGlite)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ databaseUrl: null });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("refuses the caller's next question with a typed error while its limit is in progress, not another caller's", async () => {
    let behind = true;
    // The billing read model reported behind the head until `behind` is cleared.
    const projections = {
      status: async () => (await server.ledger.projections.status()).map((p) => (behind ? { ...p, checkpoint: -1n } : p)),
    };
    const answers = new AsOfInvoices({ ...server.ledger, projections }, { perPrincipal: 2 });
    const asOf = new Date(server.ledger.grid.service.now() - 1000).toISOString();
    const two = [answers.invoice('apikey:a', 'acct-1', '2026-11', asOf), answers.statement('apikey:a', 'NL', '2026-11-05T10:00:00.000Z', asOf)];
    expect(answers.inProgressFor('apikey:a')).toBe(2);
    const refused = await answers.invoice('apikey:a', 'acct-1', '2026-11', asOf).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TooManyRequests);
    expect(refused).toMatchObject({ code: 'TOO_MANY_REQUESTS', details: { limit: 2, retryAfterMs: expect.any(Number) } });
    const other = answers.invoice('apikey:b', 'acct-1', '2026-11', asOf);
    expect(answers.inProgressFor('apikey:b')).toBe(1);
    behind = false;
    const [invoice, statement] = await Promise.all(two);
    expect(invoice).toMatchObject({ accountId: 'acct-1', totalMinor: '0' });
    expect(statement).toBeNull();
    expect(await other).toMatchObject({ totalMinor: '0' });
    expect(answers.inProgressFor('apikey:a')).toBe(0);
    expect(answers.replays).toBe(0);
  });
  it('takes its bound from the ledger (ASOF_MAX_IN_FLIGHT_PER_PRINCIPAL) when no limit is passed', async () => {
    let behind = true;
    const projections = {
      status: async () => (await server.ledger.projections.status()).map((p) => (behind ? { ...p, checkpoint: -1n } : p)),
    };
    const answers = new AsOfInvoices({ ...server.ledger, projections, asOfMaxInFlightPerPrincipal: 1 });
    expect(answers.perPrincipal).toBe(1);
    expect(new AsOfInvoices({ ...server.ledger, projections }).perPrincipal).toBe(4);
    const asOf = new Date(server.ledger.grid.service.now() - 1000).toISOString();
    const first = answers.invoice('apikey:c', 'acct-1', '2026-11', asOf);
    const refused = await answers.invoice('apikey:c', 'acct-1', '2026-11', asOf).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'TOO_MANY_REQUESTS', details: { limit: 1 } });
    behind = false;
    expect(await first).toMatchObject({ accountId: 'acct-1', totalMinor: '0' });
  });
});
