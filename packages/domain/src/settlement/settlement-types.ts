/**
 * Settlement of one zone's 15-minute period (`settlement-<zone>-<YYYYMMDDTHHMMZ>`): what each
 * participant contracted (trades) against what its portfolio was metered to deliver, the imbalance
 * priced at the zone's imbalance price, and the double-entry transfers that post the result.
 *
 * Sign conventions: energy a participant *delivers to the grid* is positive. contractedWh = sold −
 * bought; meteredNetWh = exports − imports of the sessions attributed to it; imbalanceWh =
 * meteredNetWh − contractedWh (positive: it delivered more than it sold and is paid for the surplus
 * at the imbalance price; negative: it pays for the shortfall).
 */
import type { OrderBookEvent } from '../market/market-types.ts';

/** An event the settlement reads, as the store recorded it (the domain sees no store types). */
export type InputEvent = {
  streamId: string;
  streamVersion: number;
  /** Global position, decimal string. */
  position: string;
  type: string;
  data: unknown;
  /** metadata.recordedAt */
  recordedAt: string;
  /** The event's hash-chain hash (sha256 hex). */
  hash: string;
};

/** Accounts: `trader:<participantId>`, `customer:<billing accountId>`, `operator`, `grid:imbalance`, `grid:metered`. */
export type AccountId = string;

/** A ledger is one currency (ISO 4217 code, amounts in minor units) or energy ("Wh", amounts in Wh); never mixed. */
export type LedgerCode = string;

export type TransferKind = 'trade_energy' | 'trade_money' | 'metered_export' | 'metered_import' | 'physical' | 'imbalance_energy' | 'imbalance_money' | 'reversal';

/**
 * Moves `amount` (> 0, whole minor units or whole Wh) from debitAccount to creditAccount in one
 * ledger: the debit account's balance goes down, the credit account's up (balance = credits − debits).
 */
export type Transfer = {
  /** Idempotency id: posting the same id twice posts once; the same id with other content is an error. */
  transferId: string;
  ledger: LedgerCode;
  debitAccount: AccountId;
  creditAccount: AccountId;
  amount: string;
  kind: TransferKind;
  /** For a reversal: the transfer it undoes (same ledger and amount, accounts swapped). */
  reverses: string | null;
  /** When it posts a pending transfer recorded at match time, that transfer's id. */
  postsPending: string | null;
};

/** What settlement reads of a TradeExecuted event (its data). */
export type SettlementTrade = Extract<OrderBookEvent, { type: 'TradeExecuted' }>['data'];

/** A trade's share of one settlement period, as a pending pair recorded when the trade executes. */
export type TradePart = {
  tradeId: string;
  periodStart: string;
  /** Whole Wh (>= 0) the seller delivers to the buyer in this period. */
  energyWh: string;
  /** Whole minor units the buyer pays the seller in this period; negative (a negative price): the seller pays the buyer. */
  amountMinor: string;
  /**
   * Pending transfer ids: `trade/<tradeId>/<periodStart>/energy` and `.../money`. null when the
   * part is zero (a transfer's amount is always > 0).
   */
  energyTransfer: Transfer | null;
  moneyTransfer: Transfer | null;
};

export type SettlementLine = {
  participantId: string;
  /** Account the line posts to: `trader:<id>`, or `operator` for energy nobody claims. */
  account: AccountId;
  boughtWh: string;
  soldWh: string;
  contractedWh: string;
  meteredExportWh: string;
  meteredImportWh: string;
  meteredNetWh: string;
  /** Exact imbalance, Wh (may have decimals: meters apportion to the milli-Wh). */
  imbalanceWh: string;
  /** Posted imbalance, whole Wh, such that the participant's energy account for the period nets to zero. */
  postedImbalanceWh: string;
  imbalancePriceMinorPerKWh: string;
  /** Posted, whole minor units: positive is paid to the participant. */
  imbalanceAmountMinor: string;
  /** Net of the trade money parts posted for the period: positive is received. */
  tradeAmountMinor: string;
  /** Positions of the events this line used. */
  justifiedBy: string[];
};

export type SettlementStatement = {
  zone: string;
  periodStart: string;
  periodEnd: string;
  currency: string;
  /** 1 for the first close; each re-settlement adds one. */
  revision: number;
  /** The close's instant: inputs are events recorded by then, up to global position inputsThrough. */
  knownAt: string;
  inputsThrough: string;
  /** sha256 hex over the canonical list of (position, hash) of exactly the input events used. */
  inputsHash: string;
  inputCount: number;
  lines: SettlementLine[];
  /** Reversals of the previous revision's transfers (if any), then this revision's postings. */
  transfers: Transfer[];
};

export type SettlementCommand =
  /** `statement` is derived by the service (deriveSettlement) from the events it read. */
  { type: 'CloseSettlementPeriod'; at: string; statement: SettlementStatement };

export type SettlementEvent = { type: 'SettlementPeriodClosed'; data: SettlementStatement };
