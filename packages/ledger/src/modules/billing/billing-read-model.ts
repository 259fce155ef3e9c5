import { buildInvoice, formatInstant, monthRange, type Invoice } from '@v2g/domain';
import type { SqlClient } from '@v2g/event-store';
import {
  accountKnown,
  billingInput,
  billingInputAsOf,
  countAccounts,
  countTariffs,
  listAccounts,
  listTariffs,
  priceAt,
  priceCurve,
  sessionsReaching,
} from '@v2g/projection-billing';
import { readModelFacade, type TableNames } from '@v2g/read-model';

const BILLING_QUERIES = { accountKnown, billingInput, billingInputAsOf, countAccounts, countTariffs, listAccounts, listTariffs, priceAt, priceCurve, sessionsReaching };

/** The billing read model's questions (prices, tariffs, accounts, energy by interval) and invoices built from it. */
export type BillingReadModel = ReturnType<typeof billingReadModel>;

/** The billing read model in these tables (the live ones, or a replay's), as typed questions. */
export function billingReadModel(sql: SqlClient, tables: TableNames) {
  const queries = readModelFacade(sql, tables, BILLING_QUERIES);
  return {
    ...queries,
    /** An account's invoice for a UTC month ("2026-11"), priced with the prices as known now or at `pricesKnownAt`. */
    async invoice(accountId: string, month: string, pricesKnownAt?: string | null): Promise<Invoice> {
      const { startMs, endMs } = monthRange(month);
      const input = await queries.billingInput(accountId, { from: formatInstant(startMs), to: formatInstant(endMs), ...(pricesKnownAt == null ? {} : { pricesKnownAt }) });
      return buildInvoice(input, accountId, month);
    },
    /** An account's invoice for a month as known at `asOf`, from the history tables (one index lookup). */
    async invoiceAsOf(accountId: string, month: string, asOf: string, pricesKnownAt?: string | null): Promise<Invoice> {
      const { startMs, endMs } = monthRange(month);
      const input = await queries.billingInputAsOf(accountId, {
        from: formatInstant(startMs),
        to: formatInstant(endMs),
        asOf,
        ...(pricesKnownAt == null ? {} : { pricesKnownAt }),
      });
      return buildInvoice(input, accountId, month);
    },
  };
}
