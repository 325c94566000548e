/**
 * Expected rows of the analytics views over orders, customers and events, computed from the facts of
 * metrics-expected.ts by the definitions in docs/transform.md ("Metric definitions"). Values are the
 * canonical strings metrics-expected-check.ts compares against: counts as digits, money with two
 * decimals, dates YYYY-MM-DD, booleans t/f, times ISO 8601, names masked as the analyst sees them.
 */
import type { Facts, Order } from './metrics-expected';

/** "Round num/den to `places` decimals": the tie direction is left open (PostgreSQL's inexact division). */
export interface Approx { num: bigint; den: bigint; places: number }
export type ViewRow = Record<string, string | null | Approx>;

const fmt = (n: bigint, places: number) => {
  const a = (n < 0n ? -n : n).toString().padStart(places + 1, '0');
  return `${n < 0n ? '-' : ''}${a.slice(0, -places)}.${a.slice(-places)}`;
};
/** Half away from zero, as PostgreSQL's round(numeric); operands non-negative. */
const roundDiv = (a: bigint, b: bigint) => (2n * a + b) / (2n * b);
export const money = (c: bigint) => fmt(c, 2);
export const ratio = (a: bigint, b: bigint, places: number) => (b === 0n ? null : fmt(roundDiv(a * 10n ** BigInt(places), b), places));
const bool = (b: boolean) => (b ? 't' : 'f');
const iso = (ms: number) => new Date(ms).toISOString();
/** mask_name as the analyst role sees it: the first character and three stars. */
export const mask = (name: string | null | undefined) => (name === null || name === undefined ? null : `${[...name][0] ?? ''}***`);

const sum = <T>(xs: T[], f: (x: T) => bigint) => xs.reduce((a, x) => a + f(x), 0n);
export const amount = (o: Order) => sum(o.lines, (l) => l.amountCents);
const units = (o: Order) => sum(o.lines, (l) => BigInt(l.quantity));
export function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

export function userBehavior(f: Facts): ViewRow[] {
  return f.events.map((e) => ({
    date: e.date, event_id: e.eventId, event_name: e.eventName, price: e.priceCents === null ? null : money(e.priceCents),
    product_id: e.productId, product_name: f.products.get(e.productId)?.name ?? null,
    user_id: e.customerId, user_name: mask(f.customers.get(e.customerId)?.name), order_id: e.orderId,
  }));
}

export function orderLinesEnriched(f: Facts): ViewRow[] {
  return f.orders.flatMap((o) => o.lines.map((l) => {
    const c = f.customers.get(o.customerId);
    const p = f.products.get(l.productId);
    return {
      order_date: o.date, source: o.source, order_id: o.orderId, line_no: String(l.lineNo), customer_id: o.customerId, user_name: mask(c?.name),
      country: c?.country ?? null, product_id: l.productId, product_name: p?.name ?? null, category: p?.category ?? null,
      quantity: String(l.quantity), unit_price: money(l.unitCents), amount: money(l.amountCents), status: o.status, cancelled: bool(o.cancelled),
    };
  }));
}

/** One row per order; its amount includes a cancelled order's lines (the flag says it is cancelled). */
export function orders(f: Facts): ViewRow[] {
  return f.orders.map((o) => ({
    source: o.source, order_id: o.orderId, order_date: o.date, customer_id: o.customerId, cancelled: bool(o.cancelled),
    quantity: units(o).toString(), amount: money(amount(o)),
  }));
}

/** Non-cancelled orders of all sources, per customer. */
export function avgPurchaseValuePerCustomer(f: Facts): ViewRow[] {
  return [...groupBy(f.orders.filter((o) => !o.cancelled), (o) => o.customerId)].map(([customer, os]) => ({
    customer_id: customer, orders: String(os.length), revenue: money(sum(os, amount)), avg_purchase_value: money(roundDiv(sum(os, amount), BigInt(os.length))),
  }));
}

export function customers(f: Facts): ViewRow[] {
  const bought = new Map(avgPurchaseValuePerCustomer(f).map((r) => [r.customer_id as string, r]));
  const events = groupBy(f.events, (e) => e.customerId);
  return [...f.customers].map(([id, c]) => {
    const b = bought.get(id);
    const es = events.get(id) ?? [];
    const times = es.map((e) => e.ts);
    return {
      customer_id: id, user_name: mask(c.name), country: c.country, signup_date: c.signupDate,
      orders: b?.orders ?? '0', revenue: b?.revenue ?? '0.00', avg_purchase_value: b?.avg_purchase_value ?? null,
      events: String(es.length), sessions: String(new Set(es.map((e) => e.sessionId)).size),
      first_event_at: es.length ? iso(Math.min(...times)) : null, last_event_at: es.length ? iso(Math.max(...times)) : null,
    };
  });
}

/** Per user, over the sessions with an `order` event: a session's spend is the sum of their prices (null = 0). */
export function avgSpendPerSession(f: Facts): ViewRow[] {
  const sessions = groupBy(f.events.filter((e) => e.eventName === 'order'), (e) => `${e.customerId}|${e.sessionId}`);
  const spends = [...sessions.values()].map((es) => ({ user: es[0]!.customerId, spend: sum(es, (e) => e.priceCents ?? 0n) }));
  return [...groupBy(spends, (s) => s.user)].map(([user, ss]) => ({
    user_id: user, sessions: String(ss.length), spend: money(sum(ss, (s) => s.spend)), avg_spend_per_session: money(roundDiv(sum(ss, (s) => s.spend), BigInt(ss.length))),
  }));
}

/** Non-cancelled order lines with their order's date. */
export const soldLines = (f: Facts) => f.orders.filter((o) => !o.cancelled).flatMap((o) => o.lines.map((l) => ({ ...l, date: o.date, order: `${o.source}|${o.orderId}` })));

export function productSalesDaily(f: Facts): ViewRow[] {
  return [...groupBy(soldLines(f), (l) => `${l.date}|${l.productId}`)].map(([k, ls]) => ({
    order_date: k.slice(0, 10), product_id: k.slice(11), orders: String(new Set(ls.map((l) => l.order)).size),
    units: String(ls.reduce((a, l) => a + l.quantity, 0)), revenue: money(sum(ls, (l) => l.amountCents)),
  }));
}

export function productEventsDaily(f: Facts): ViewRow[] {
  return [...groupBy(f.events, (e) => `${e.date}|${e.productId}|${e.eventName}`)].map(([k, es]) => {
    const [date = '', product = '', name = ''] = k.split('|');
    return { event_date: date, product_id: product, event_name: name, events: String(es.length), users: String(new Set(es.map((e) => e.customerId)).size) };
  });
}

export function purchaseFunnel(f: Facts): ViewRow[] {
  return [...groupBy(f.events, (e) => e.date)].map(([date, es]) => {
    const users = (name: string) => BigInt(new Set(es.filter((e) => e.eventName === name).map((e) => e.customerId)).size);
    const [viewers, carts, buyers] = [users('view'), users('add_to_cart'), users('order')];
    return {
      event_date: date, viewers: String(viewers), add_to_cart_users: String(carts), buyers: String(buyers),
      view_to_cart_rate: ratio(carts, viewers, 4), cart_to_order_rate: ratio(buyers, carts, 4), conversion_rate: ratio(buyers, viewers, 4),
    };
  });
}
