/**
 * The five contract metrics computed straight from a dataset folder by MISSION.md's rules, on a
 * path that shares no code with the pipeline: its own parsing, validity checks, dedup, and integer
 * cents (BigInt) for money. If the transform and this disagree by a cent, the test fails.
 * metrics-expected.ts reuses its parsing helpers for every other metric view.
 */
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Pool } from 'pg';
import { expect } from 'vitest';

export type Row = Record<string, string | number | null | undefined>;
export interface DayOrders { orders: number; cents: bigint }
export interface Expected {
  ordersByDate: Map<string, DayOrders>;
  monthly: Map<string, DayOrders>;
  traffic: Map<string, number>; // `${date}|${event_name}`
  visitors: Map<string, number>;
  productSales: Map<string, { name: string | null; units: number; cents: bigint }>;
  totalMismatches: number;
  maxBusinessTime: number;
}

/** Absent, null or blank: a missing value by MISSION's rules. */
export const missing = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
/** MISSION's text normalisation: NFC, inner whitespace collapsed, trimmed. */
export const norm = (s: string) => s.normalize('NFC').replace(/\s+/gu, ' ').trim();

/** ISO date, date-time (no offset = UTC) or YYYY/MM/DD, as an epoch ms; null when not a real date. */
export function instant(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(v.trim());
  if (!m || (v.includes('/') && m[4] !== undefined) || (v.includes('/') && v.includes('-'))) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  if (m[4] === undefined) return day.getTime();
  const [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (h > 23 || mi > 59 || s > 59) return null;
  const z = m[8] ?? 'Z';
  const off = z === 'Z' ? 0 : (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(-2)));
  return Date.UTC(y, mo - 1, d, h, mi, s, Math.floor(Number(m[7] ?? 0) * 1000)) - off * 60_000;
}
export const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
export const qty = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) && v > 0 ? v : null) : typeof v === 'string' && /^\s*\d+\s*$/.test(v) && Number(v) > 0 ? Number(v) : null);
export function cents(v: unknown): bigint | null {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(s);
  return m ? BigInt(m[1]!) * 100n + BigInt((m[2] ?? '').padEnd(2, '0')) : null;
}
function parseLine(l: string): Row {
  try {
    const v: unknown = JSON.parse(l);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Row) : { __bad: 1 };
  } catch {
    return { __bad: 1 }; // malformed JSON: invalid, as the rules say
  }
}
// A file of any name; `.gz` is gunzipped (the layout allows compressed purchase exports).
const text = (path: string) => (path.endsWith('.gz') ? gunzipSync(readFileSync(path)) : readFileSync(path)).toString('utf8');
export const jsonl = (path: string) => text(path).split('\n').filter((l) => l.trim()).map(parseLine);
export const csvRows = (path: string): Row[] => {
  const [header = [], ...rest] = parse(text(path), { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  return rest.map((cells) => (cells.length === header.length ? Object.fromEntries(header.map((h, i) => [h.trim() === 'Qty' ? 'Quantity' : h.trim(), cells[i]])) : { __bad: 1 }));
};

function add(map: Map<string, DayOrders>, key: string, cents: bigint) {
  const e = map.get(key) ?? { orders: 0, cents: 0n };
  map.set(key, { orders: e.orders + 1, cents: e.cents + cents });
}

export function expectedMetrics(dir: string, prefix: string): Expected {
  const ex: Expected = { ordersByDate: new Map(), monthly: new Map(), traffic: new Map(), visitors: new Map(), productSales: new Map(), totalMismatches: 0, maxBusinessTime: 0 };
  const names = new Map<string, { at: number; name: string | null }[]>();
  for (const p of csvRows(join(dir, 'products.csv'))) {
    const list = names.get(String(p.product_id)) ?? [];
    list.push({ at: instant(p.updated_at) ?? 0, name: missing(p.product_name) ? null : norm(String(p.product_name)) });
    names.set(String(p.product_id), list);
  }
  // A product the catalogue lacks is named by its purchase lines (the greatest name), as docs/transform.md says.
  const lineNames = new Map<string, string>();
  const sell = (productId: string, units: number, c: bigint, lineName: string | null = null) => {
    const versions = (names.get(productId) ?? []).sort((a, b) => b.at - a.at);
    if (lineName !== null && !names.has(productId) && lineName > (lineNames.get(productId) ?? '')) lineNames.set(productId, lineName);
    const e = ex.productSales.get(prefix + productId) ?? { name: null, units: 0, cents: 0n };
    const name = versions.find((v) => v.name !== null)?.name ?? lineNames.get(productId) ?? null;
    ex.productSales.set(prefix + productId, { name, units: e.units + units, cents: e.cents + c });
  };
  const order = (date: string, c: bigint) => {
    add(ex.ordersByDate, date, c);
    add(ex.monthly, `${date.slice(0, 7)}-01`, c);
  };

  const latest = new Map<string, Row & { at: number }>();
  for (const o of jsonl(join(dir, 'orders.jsonl'))) {
    const at = instant(o.updated_at)!;
    ex.maxBusinessTime = Math.max(ex.maxBusinessTime, at);
    const prev = latest.get(String(o.order_id));
    if (!prev || at > prev.at) latest.set(String(o.order_id), { ...o, at });
  }
  for (const o of latest.values()) {
    const lines = (o as unknown as { lines: Array<{ product_id: string; quantity: number | string; unit_price: string | number }> }).lines;
    const live = o.status !== 'cancelled';
    let total = 0n;
    for (const l of lines) {
      const units = qty(l.quantity)!; // "1" and 1 alike
      const c = cents(l.unit_price)! * BigInt(units);
      total += c;
      if (live) sell(l.product_id, units, c);
    }
    order(day(instant(o.created_at)!), live ? total : 0n);
  }

  // Any name: the extension says the format. Only same-content duplicates span files in the fixtures, so order does not matter.
  const files = readdirSync(join(dir, 'purchases')).filter((f) => !f.startsWith('.')).sort();
  const lines = new Map<string, { order: string; date: string; product: string; units: number; cents: bigint; name: string | null }>();
  for (const f of files) {
    const rows = /\.csv(\.gz)?$/i.test(f) ? csvRows(join(dir, 'purchases', f)) : jsonl(join(dir, 'purchases', f)).map((r) => ('Qty' in r ? { ...r, Quantity: r.Qty } : r));
    for (const r of rows) {
      if (r.__bad || ['CustomerID', 'OrderID', 'OrderDate', 'ProductID', 'Quantity', 'Price'].some((k) => missing(r[k]))) continue;
      const at = instant(r.OrderDate);
      const q = qty(r.Quantity);
      const price = cents(r.Price);
      const total = missing(r.Total) ? undefined : cents(r.Total);
      if (at === null || q === null || price === null || total === null) continue;
      const key = `${String(r.OrderID).trim()}|${String(r.ProductID).trim()}`;
      if (lines.has(key)) continue;
      if (total !== undefined && total !== price * BigInt(q)) ex.totalMismatches += 1;
      lines.set(key, { order: String(r.OrderID).trim(), date: day(at), product: String(r.ProductID).trim(), units: q, cents: price * BigInt(q), name: missing(r.ProductName) ? null : norm(String(r.ProductName)) });
    }
  }
  const fileOrders = new Map<string, { date: string; cents: bigint }>();
  for (const l of lines.values()) {
    sell(l.product, l.units, l.cents, l.name);
    const o = fileOrders.get(l.order);
    fileOrders.set(l.order, { date: !o || l.date < o.date ? l.date : o.date, cents: (o?.cents ?? 0n) + l.cents });
  }
  for (const o of fileOrders.values()) order(o.date, o.cents);

  const seen = new Set<string>();
  const users = new Map<string, Set<string>>();
  for (const e of jsonl(join(dir, 'events.jsonl'))) {
    if (['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'ts'].some((k) => missing(e[k]))) continue;
    if (!['view', 'add_to_cart', 'wishlist', 'order', 'return'].includes(String(e.event_name))) continue;
    const ts = instant(e.ts);
    if (ts === null) continue;
    if (!missing(e.price) && !/^\d+(\.\d+)?$/.test(String(e.price).trim())) continue;
    if (seen.has(String(e.event_id))) continue;
    seen.add(String(e.event_id));
    ex.maxBusinessTime = Math.max(ex.maxBusinessTime, ts);
    const key = `${day(ts)}|${String(e.event_name)}`;
    ex.traffic.set(key, (ex.traffic.get(key) ?? 0) + 1);
    users.set(day(ts), (users.get(day(ts)) ?? new Set()).add(String(e.user_id)));
  }
  for (const [d, s] of users) ex.visitors.set(d, s.size);
  return ex;
}

/** A money value read from analytics, in cents. A third decimal is refused, not cut off: money has two. */
export const toCents = (v: string): bigint => {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(v);
  if (!m) throw new Error(`money value ${JSON.stringify(v)} is not a decimal with at most two decimals`);
  const c = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -c : c;
};

/** Asserts the five contract metrics of `dates` and of products `${prefix}%` equal `ex`, to the cent. */
export async function expectContract(a: Pool, ex: Expected, dates: string[], prefix: string): Promise<void> {
  const obd = await a.query<{ d: string; orders: number; revenue: string }>(`select to_char(order_date, 'YYYY-MM-DD') d, orders, revenue::text from orders_by_date where order_date = any($1::date[]) order by 1`, [dates]);
  expect(obd.rows.map((r) => [r.d, r.orders, toCents(r.revenue)])).toEqual([...ex.ordersByDate].sort().map(([d, v]) => [d, v.orders, v.cents]));
  const months = [...ex.monthly.keys()];
  const mr = await a.query<{ m: string; orders: string; revenue: string }>(`select to_char(month, 'YYYY-MM-DD') m, orders::text, revenue::text from monthly_revenue where month = any($1::date[]) order by 1`, [months]);
  expect(mr.rows.map((r) => [r.m, Number(r.orders), toCents(r.revenue)])).toEqual([...ex.monthly].sort().map(([m, v]) => [m, v.orders, v.cents]));
  const dt = await a.query<{ k: string; events: number }>(`select to_char(event_date, 'YYYY-MM-DD') || '|' || event_name k, events from daily_traffic where event_date = any($1::date[]) order by 1`, [dates]);
  expect(dt.rows.map((r) => [r.k, r.events])).toEqual([...ex.traffic].sort());
  const uv = await a.query<{ d: string; visitors: number }>(`select to_char(event_date, 'YYYY-MM-DD') d, visitors from daily_unique_visitors where event_date = any($1::date[]) order by 1`, [dates]);
  expect(uv.rows.map((r) => [r.d, r.visitors])).toEqual([...ex.visitors].sort());
  const ps = await a.query<{ product_id: string; product_name: string | null; units: string; revenue: string }>(`select product_id, product_name, units::text, revenue::text from product_sales where product_id like $1 order by 1`, [`${prefix}%`]);
  expect(ps.rows.map((r) => [r.product_id, r.product_name, Number(r.units), toCents(r.revenue)]))
    .toEqual([...ex.productSales].sort().map(([id, v]) => [id, v.name, v.units, v.cents]));
  const dq = await a.query<{ n: string }>(`select coalesce(sum(records), 0)::text n from dq_findings where finding_date = any($1::date[]) and kind = 'total_mismatch'`, [dates]);
  expect(Number(dq.rows[0]?.n)).toBe(ex.totalMismatches);
}

/**
 * A day of a test's own (2031..2085) whose month, and the previous day's month, hold no rows in
 * analytics yet: monthly_revenue and orders_by_date compare whole months, and the tests of one file
 * share its database.
 */
export async function freshTestDay(analytics: Pool): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const day = new Date(Date.UTC(2031, 0, 1) + randomInt(0, 20000) * 86_400_000);
    const from = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
    const to = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
    const { rowCount } = await analytics.query('select 1 from orders_by_date where order_date >= $1 and order_date < $2 limit 1', [from, to]);
    if (!rowCount) return day.toISOString().slice(0, 10);
  }
  throw new Error('no free test month in 2031..2085: clear old test rows from analytics (orders_by_date)');
}

