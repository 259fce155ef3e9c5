import { CodedError } from '@v2g/domain';
import { whToKWh } from '@v2g/ledger';

/**
 * The market's refusals in the terms the client sent: the order book decides in whole Wh and
 * numbers a command's orders `orders[i]`, while a client sends kWh, and `submitOrder` one order
 * with no list at all. So, before a refusal leaves the API:
 * - a field `…quantityWh` is `…quantityKWh`, and every "N Wh" of its message is said in kWh; each
 *   `…Wh` fact gains its `…KWh` twin (`quantityKWh` beside `quantityWh`);
 * - for a single order (`submitOrder`), `orders[0].` and `orders[0]: ` go from fields and messages
 *   and `orderIndex` is null, as it is outside a batch.
 * A refusal without those terms passes unchanged.
 */
export type OrderView = { single: boolean };

export async function inClientTerms<T>(view: OrderView, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw error instanceof CodedError ? restated(error, view) : error;
  }
}

const WH_AMOUNT = /(-?\d+) Wh\b/g;

function restated<E extends CodedError>(error: E, view: OrderView): E {
  const details: Record<string, unknown> = { ...error.details };
  let message = error.message;
  const fieldOf = (field: string) => {
    let named = field.replace(/quantityWh$/, 'quantityKWh');
    if (view.single) named = named.replace(/^orders\[0\]\.?/, '');
    return named === '' ? 'input' : named;
  };
  if (typeof details.field === 'string') {
    const named = fieldOf(details.field);
    message = message.split(details.field).join(named);
    details.field = named;
  }
  if (view.single) {
    message = message.replace(/^orders\[0\]: /, '');
    if ('orderIndex' in details) details.orderIndex = null;
  }
  for (const [key, value] of Object.entries(error.details)) {
    if (key.endsWith('Wh') && typeof value === 'string' && /^-?\d+$/.test(value)) details[`${key.slice(0, -2)}KWh`] = whToKWh(value);
  }
  message = message.replace(WH_AMOUNT, (_all, wh: string) => `${whToKWh(wh)} kWh`);
  if (message === error.message && JSON.stringify(details) === JSON.stringify(error.details)) return error;
  // The same class (the result union picks its member by class), with the client's terms.
  const copy = Object.create(Object.getPrototypeOf(error) as object) as E;
  Object.assign(copy, error, { details });
  Object.defineProperty(copy, 'message', { value: message, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(copy, 'stack', { value: error.stack, writable: true, configurable: true, enumerable: false });
  return copy;
}
