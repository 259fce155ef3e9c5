import { InvalidCommand } from '../errors.ts';
import type { RefusalClass } from '../site/site-refusals.ts';
import {
  DuplicateClientOrderId,
  DuplicateOrderId,
  GateClosed,
  GateNotReached,
  InsufficientQuantity,
  MarketNotOpen,
  OrderNotOpen,
  OrderNotOwned,
  OrderTypeNotAllowed,
  PriceNotOnTick,
  PriceOutOfBounds,
  QuantityAboveMaximum,
  QuantityBelowFilled,
  QuantityNotOnStep,
  UnknownOrder,
  UnknownProduct,
} from './market-errors.ts';
import type { OrderBookCommand } from './market-types.ts';

/**
 * What the order book's decider can refuse each command with, and nothing more (see
 * SITE_REFUSALS): the API's result unions are built from these lists, and
 * `order-book-refusals.unit.spec.ts` fails on any refusal the decider makes that a list lacks.
 */
export const ORDER_BOOK_REFUSALS = {
  SubmitOrders: [
    InvalidCommand,
    UnknownProduct,
    GateClosed,
    MarketNotOpen,
    DuplicateOrderId,
    DuplicateClientOrderId,
    InsufficientQuantity,
    PriceOutOfBounds,
    PriceNotOnTick,
    QuantityNotOnStep,
    QuantityAboveMaximum,
    OrderTypeNotAllowed,
  ],
  AmendOrder: [
    InvalidCommand,
    UnknownOrder,
    GateClosed,
    MarketNotOpen,
    OrderNotOwned,
    OrderNotOpen,
    QuantityNotOnStep,
    QuantityAboveMaximum,
    PriceOutOfBounds,
    PriceNotOnTick,
    QuantityBelowFilled,
  ],
  CancelOrder: [InvalidCommand, UnknownOrder, GateClosed, MarketNotOpen, OrderNotOwned, OrderNotOpen],
  CloseGate: [InvalidCommand, GateClosed, GateNotReached],
} as const satisfies Record<OrderBookCommand['type'], readonly RefusalClass[]>;
