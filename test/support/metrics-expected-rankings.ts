/**
 * Expected rows of the analytics views that summarise per category, warehouse stock and country,
 * and the candidates of the ranked views (top products, top countries, price extremes, high-value
 * orders), from metrics-expected.ts's facts by docs/transform.md's "Metric definitions". Rankings
 * are returned in rank order without the rank: other runs share the database and take ranks too.
 */
import type { Facts } from './metrics-expected';
import { amount, groupBy, money, ratio, soldLines, type Approx, type ViewRow } from './metrics-expected-views';

const sum = <T>(xs: T[], f: (x: T) => bigint) => xs.reduce((a, x) => a + f(x), 0n);
const byValueThenKey = (value: string, key: string, dir: 1 | -1) => (a: ViewRow, b: ViewRow) => {
  const [va, vb] = [BigInt(String(a[value]).replace('.', '')), BigInt(String(b[value]).replace('.', ''))];
  return va !== vb ? (va < vb ? -dir : dir) : String(a[key]) < String(b[key]) ? -1 : 1;
};
export const RANK_ORDER = { desc: (value: string, key: string) => byValueThenKey(value, key, -1), asc: (value: string, key: string) => byValueThenKey(value, key, 1) };

function salesByProduct(f: Facts) {
  return new Map([...groupBy(soldLines(f), (l) => l.productId)].map(([p, ls]) => [p, { units: sum(ls, (l) => BigInt(l.quantity)), revenue: sum(ls, (l) => l.amountCents) }]));
}

export function categorySummary(f: Facts): ViewRow[] {
  const sales = salesByProduct(f);
  const events = (p: string, name: string) => f.events.filter((e) => e.productId === p && e.eventName === name).length;
  return [...groupBy([...f.products], ([, p]) => p.categoryKey)].map(([key, ps]) => {
    const prices = ps.map(([, p]) => p.priceCents).filter((c): c is bigint => c !== null);
    const total = (g: (id: string) => bigint | number) => String(ps.reduce((a, [id]) => a + BigInt(g(id)), 0n));
    return {
      category: key, products: String(ps.length), units: total((id) => sales.get(id)?.units ?? 0n),
      revenue: money(sum(ps, ([id]) => sales.get(id)?.revenue ?? 0n)),
      views: total((id) => events(id, 'view')), add_to_carts: total((id) => events(id, 'add_to_cart')),
      wishlists: total((id) => events(id, 'wishlist')), returns: total((id) => events(id, 'return')),
      avg_price: prices.length ? ratio(sum(prices, (c) => c), BigInt(prices.length) * 100n, 2) : null,
    };
  });
}

/** Σ over warehouses of the mean observed level, exact: a fraction. */
function avgStock(levels: Map<string, number[]>): { num: bigint; den: bigint } {
  let [num, den] = [0n, 1n];
  for (const ls of levels.values()) [num, den] = [num * BigInt(ls.length) + BigInt(ls.reduce((a, b) => a + b, 0)) * den, den * BigInt(ls.length)];
  return { num, den };
}

export function inventoryTurnover(f: Facts): ViewRow[] {
  const sales = salesByProduct(f);
  return [...f.stock].filter(([p]) => f.products.has(p)).map(([p, levels]) => {
    const s = avgStock(levels);
    const sold = sales.get(p)?.units ?? 0n;
    return {
      product_id: p, product_name: f.products.get(p)!.name, category: f.products.get(p)!.categoryKey, units_sold: String(sold),
      avg_stock: { ...s, places: 12 }, turnover: s.num === 0n ? null : { num: sold * s.den, den: s.num, places: 4 },
    };
  });
}

export function inventoryTurnoverByCategory(f: Facts): ViewRow[] {
  return [...groupBy(inventoryTurnover(f), (r) => String(r.category))].map(([category, rs]) => {
    let [num, den] = [0n, 1n];
    for (const r of rs) {
      const a = r.avg_stock as Approx;
      [num, den] = [num * a.den + a.num * den, den * a.den];
    }
    const sold = rs.reduce((a, r) => a + BigInt(String(r.units_sold)), 0n);
    return { category, units_sold: String(sold), avg_stock: { num, den, places: 12 }, turnover: num === 0n ? null : { num: sold * den, den: num, places: 4 } };
  });
}

/** Non-cancelled orders per country (the customer's current country). */
export function countrySummary(f: Facts): ViewRow[] {
  const live = f.orders.filter((o) => !o.cancelled);
  return [...groupBy(live, (o) => f.customers.get(o.customerId)?.country ?? 'unknown')].map(([country, os]) => {
    const qty = sum(os, (o) => sum(o.lines, (l) => BigInt(l.quantity)));
    return { country, customers: String(new Set(os.map((o) => o.customerId)).size), orders: String(os.length), quantity: String(qty), revenue: money(sum(os, amount)), avg_quantity: ratio(qty, BigInt(os.length), 2) };
  });
}

export const topCountries = (f: Facts) => countrySummary(f).sort(RANK_ORDER.desc('revenue', 'country'));

/** Every non-cancelled order as high_value_orders shows it; which ones pass the p95 is checked by closure. */
export function highValueCandidates(f: Facts): ViewRow[] {
  return f.orders.filter((o) => !o.cancelled).map((o) => ({
    source: o.source, order_id: o.orderId, order_date: o.date, customer_id: o.customerId, country: f.customers.get(o.customerId)?.country ?? null, amount: money(amount(o)),
  }));
}

/**
 * high_value_orders when the database holds only these orders: amount ≥ percentile_cont(0.95), which
 * interpolates between the sorted amounts at floor and ceil of 0.95 × (n − 1) (in double precision, as
 * PostgreSQL computes the position), so the orders at or above the upper one pass, or at or above the
 * lower one when the position is whole.
 */
export function highValueOrders(f: Facts): ViewRow[] {
  const amounts = f.orders.filter((o) => !o.cancelled).map(amount).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pos = 0.95 * (amounts.length - 1);
  const threshold = amounts[pos === Math.floor(pos) ? pos : Math.ceil(pos)];
  return threshold === undefined ? [] : highValueCandidates(f).filter((r) => BigInt(String(r.amount).replace('.', '')) >= threshold);
}

export function unitPriceExtremes(f: Facts, extreme: 'highest' | 'lowest'): ViewRow[] {
  const lines = f.orders.filter((o) => !o.cancelled).flatMap((o) => o.lines.map((l) => ({ ...l, customer: o.customerId })));
  const rows = [...groupBy(lines, (l) => l.customer)].map(([c, ls]) => ({
    extreme, customer_id: c, country: f.customers.get(c)?.country ?? null,
    avg_unit_price: ratio(sum(ls, (l) => l.amountCents), sum(ls, (l) => BigInt(l.quantity)) * 100n, 2),
  }));
  return rows.sort(extreme === 'highest' ? RANK_ORDER.desc('avg_unit_price', 'customer_id') : RANK_ORDER.asc('avg_unit_price', 'customer_id'));
}

export type Ranking = 'most_sold' | 'most_wishlisted' | 'most_returned';
export function topProducts(f: Facts, ranking: Ranking): ViewRow[] {
  const name = (p: string) => f.products.get(p)?.name ?? null;
  const rows = ranking === 'most_sold'
    ? [...salesByProduct(f)].map(([p, s]) => ({ ranking, product_id: p, product_name: name(p), value: String(s.units) }))
    : [...groupBy(f.events.filter((e) => e.eventName === (ranking === 'most_wishlisted' ? 'wishlist' : 'return')), (e) => e.productId)]
        .map(([p, es]) => ({ ranking, product_id: p, product_name: name(p), value: String(es.length) }));
  return rows.sort(RANK_ORDER.desc('value', 'product_id'));
}

/** Sales of the 30 days ending at `anchor` (the latest order date with sales in the whole database). */
export function topProductsLastMonth(f: Facts, anchor: string): ViewRow[] {
  const from = new Date(Date.parse(anchor) - 30 * 86_400_000).toISOString().slice(0, 10);
  const lines = soldLines(f).filter((l) => l.date > from && l.date <= anchor);
  return [...groupBy(lines, (l) => l.productId)].map(([p, ls]) => ({
    product_id: p, product_name: f.products.get(p)?.name ?? null, units: String(ls.reduce((a, l) => a + l.quantity, 0)), revenue: money(sum(ls, (l) => l.amountCents)),
  })).sort(RANK_ORDER.desc('units', 'product_id'));
}
