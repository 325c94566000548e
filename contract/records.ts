/**
 * Record-level validity of the dirty sources (purchase files, events, orders), built on rules.ts.
 * Ingestion quarantines exactly the records these reject, with `reason`.
 */
import { EVENT_NAMES, ORDER_STATUSES, PURCHASE_ALIASES, PURCHASE_COLUMNS, type EventName, type OrderStatus } from './layout';
import { decimalEquals, isMissing, multiplyDecimal, normaliseText, parseDate, parsePrice, parseQuantity } from './rules';

export type Checked<T> = { ok: true; value: T } | { ok: false; field: string; reason: string };

export interface PurchaseLine {
  customerId: string;
  orderId: string;
  orderDate: Date;
  productId: string;
  productName: string | null;
  quantity: number;
  price: string;
  /** Quantity x Price: the line's amount, whatever Total says. */
  amount: string;
  /** Total was given and disagrees with the amount: kept, but a data-quality finding. */
  totalMismatch: boolean;
}

const fail = (field: string, reason: string): { ok: false; field: string; reason: string } => ({ ok: false, field, reason });

function canonical(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[PURCHASE_ALIASES[k] ?? k] = v;
  return out;
}

/** One purchase line as a JSON object or a header-keyed CSV row; extra fields are ignored. */
export function checkPurchase(raw: Record<string, unknown>): Checked<PurchaseLine> {
  return checkCanonicalPurchase(canonical(raw));
}

/** checkPurchase of a record whose keys are canonical already (no alias left to map). */
export function checkCanonicalPurchase(r: Record<string, unknown>): Checked<PurchaseLine> {
  for (const f of ['CustomerID', 'OrderID', 'OrderDate', 'ProductID', 'Quantity', 'Price']) {
    if (isMissing(r[f])) return fail(f, `${f} is missing`);
  }
  const orderDate = parseDate(r.OrderDate);
  if (!orderDate) return fail('OrderDate', `OrderDate ${JSON.stringify(r.OrderDate)} is not an accepted date`);
  const quantity = parseQuantity(r.Quantity);
  if (quantity === null) return fail('Quantity', `Quantity ${JSON.stringify(r.Quantity)} is not a positive integer`);
  const price = parsePrice(r.Price);
  if (price === null) return fail('Price', `Price ${JSON.stringify(r.Price)} is not a non-negative decimal`);
  const amount = multiplyDecimal(quantity, price);
  let totalMismatch = false;
  if (!isMissing(r.Total)) {
    const total = parsePrice(r.Total);
    if (total === null) return fail('Total', `Total ${JSON.stringify(r.Total)} is not a non-negative decimal`);
    totalMismatch = !decimalEquals(total, amount);
  }
  const name = isMissing(r.ProductName) ? null : normaliseText(String(r.ProductName));
  return {
    ok: true,
    value: {
      customerId: String(r.CustomerID).trim(), orderId: String(r.OrderID).trim(), orderDate,
      productId: String(r.ProductID).trim(), productName: name, quantity, price, amount, totalMismatch,
    },
  };
}

/** A CSV purchase row: the wrong number of cells makes it invalid before any field is read. */
export function checkPurchaseCells(header: readonly string[], cells: readonly string[]): Checked<PurchaseLine> {
  if (cells.length !== header.length) return fail('*', `expected ${header.length} columns, got ${cells.length}`);
  return checkPurchase(Object.fromEntries(header.map((h, i) => [h, cells[i]])));
}

/** The purchase header a file must start with: the canonical columns, possibly renamed, plus extras. */
export function checkPurchaseHeader(header: readonly string[]): string | null {
  const names = new Set(header.map((h) => PURCHASE_ALIASES[h] ?? h));
  const missing = PURCHASE_COLUMNS.filter((c) => !names.has(c));
  return missing.length ? `header lacks ${missing.join(', ')}` : null;
}

export interface CheckedEvent { eventId: string; eventName: EventName; userId: string; sessionId: string; productId: string; orderId: string | null; price: string | null; ts: Date }

export function checkEvent(e: Record<string, unknown>): Checked<CheckedEvent> {
  for (const f of ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'ts']) {
    if (isMissing(e[f])) return fail(f, `${f} is missing`);
  }
  if (!EVENT_NAMES.includes(e.event_name as EventName)) return fail('event_name', `unknown event_name ${JSON.stringify(e.event_name)}`);
  const ts = parseDate(e.ts);
  if (!ts) return fail('ts', `ts ${JSON.stringify(e.ts)} is not an accepted date`);
  // order_id and price may be null for any event name, order and return included (MISSION.md, layout).
  const price = isMissing(e.price) ? null : parsePrice(e.price);
  if (!isMissing(e.price) && price === null) return fail('price', `price ${JSON.stringify(e.price)} is not a non-negative decimal`);
  return {
    ok: true,
    value: {
      eventId: String(e.event_id), eventName: e.event_name as EventName, userId: String(e.user_id), sessionId: String(e.session_id),
      productId: String(e.product_id), orderId: isMissing(e.order_id) ? null : String(e.order_id), price, ts,
    },
  };
}

export function checkOrder(o: Record<string, unknown>): Checked<{ orderId: string; status: OrderStatus; updatedAt: Date }> {
  for (const f of ['order_id', 'user_id', 'status', 'created_at', 'updated_at']) {
    if (isMissing(o[f])) return fail(f, `${f} is missing`);
  }
  if (!ORDER_STATUSES.includes(o.status as OrderStatus)) return fail('status', `unknown status ${JSON.stringify(o.status)}`);
  const updatedAt = parseDate(o.updated_at);
  if (!parseDate(o.created_at)) return fail('created_at', 'created_at is not an accepted date');
  if (!updatedAt) return fail('updated_at', 'updated_at is not an accepted date');
  if (!Array.isArray(o.lines) || o.lines.length === 0) return fail('lines', 'lines must be a non-empty array');
  for (const [i, l] of (o.lines as unknown[]).entries()) {
    const line = (l ?? {}) as Record<string, unknown>;
    if (isMissing(line.product_id)) return fail(`lines[${i}].product_id`, 'product_id is missing');
    if (parseQuantity(line.quantity) === null) return fail(`lines[${i}].quantity`, 'quantity is not a positive integer');
    if (parsePrice(line.unit_price) === null) return fail(`lines[${i}].unit_price`, 'unit_price is not a non-negative decimal');
  }
  return { ok: true, value: { orderId: String(o.order_id), status: o.status as OrderStatus, updatedAt } };
}
