/**
 * The star schema a dataset folder should produce, computed straight from its files by MISSION.md's
 * rules and the definitions of docs/transform.md ("Metric definitions"), sharing no code with the
 * pipeline: own parsing (transform-expected.ts's helpers), own dedup and fill rules, BigInt cents,
 * and its own HMAC for the pseudonyms. metrics-expected-views.ts turns this into each view's rows.
 */
import { createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cents, csvRows, day, instant, jsonl, missing, norm, qty, type Row } from './transform-expected';

export interface Line { lineNo: number; productId: string; quantity: number; unitCents: bigint; amountCents: bigint }
export interface Order { source: 'api' | 'file'; orderId: string; date: string; customerId: string; status: string; cancelled: boolean; lines: Line[] }
export interface Event { eventId: string; eventName: string; date: string; ts: number; customerId: string; sessionId: string; productId: string; orderId: string | null; priceCents: bigint | null }
export interface Product { name: string | null; category: string; categoryKey: string; priceCents: bigint | null }
export interface Customer { name: string | null; country: string; signupDate: string | null }
export interface Facts {
  products: Map<string, Product>;
  customers: Map<string, Customer>;
  orders: Order[];
  events: Event[];
  /** product -> warehouse -> observed stock levels, once per (warehouse, updated_at). */
  stock: Map<string, Map<string, number[]>>;
}

const EVENT_NAMES = ['view', 'add_to_cart', 'wishlist', 'order', 'return'];
const text = (v: unknown) => (missing(v) ? null : norm(String(v)));
const money = (v: unknown, what: string) => {
  const c = cents(v);
  if (c === null) throw new Error(`${what}: ${JSON.stringify(v)} is not a decimal with at most two decimals (not covered by these expectations)`);
  return c;
};

/** Latest version by updated_at; each field carried forward from the newest version that has it. */
function latest<T extends Record<string, unknown>>(versions: Array<{ at: number } & T>, fields: Array<keyof T>): Partial<T> {
  const sorted = [...versions].sort((a, b) => b.at - a.at);
  return Object.fromEntries(fields.map((f) => [f, sorted.find((v) => v[f] !== null && v[f] !== undefined)?.[f] ?? null])) as Partial<T>;
}

function group<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}

export function loadFacts(dir: string, prefix: string, pseudonymKey: string): Facts {
  const pseudo = (id: unknown) => createHmac('sha256', pseudonymKey).update(`${prefix}${String(id).trim()}`, 'utf8').digest('hex').slice(0, 32);
  const id = (v: unknown) => `${prefix}${String(v).trim()}`;
  const facts: Facts = { products: new Map(), customers: new Map(), orders: [], events: [], stock: new Map() };

  const productVersions = csvRows(join(dir, 'products.csv')).map((p) => ({
    id: id(p.product_id), at: instant(p.updated_at) ?? 0, name: text(p.product_name), category: text(p.category), price: missing(p.price) ? null : money(p.price, 'product price'),
  }));
  for (const [pid, versions] of group(productVersions, (v) => v.id)) {
    const v = latest(versions, ['name', 'category', 'price']);
    const category = v.category ?? 'Uncategorised';
    facts.products.set(pid, { name: v.name ?? null, category, categoryKey: category.toLowerCase(), priceCents: v.price ?? null });
  }
  const userVersions = csvRows(join(dir, 'users.csv')).map((u) => ({
    id: pseudo(u.user_id), at: instant(u.updated_at) ?? 0, name: text(u.user_name), country: text(u.country)?.toUpperCase() ?? null,
    signup: missing(u.signup_date) ? null : day(instant(u.signup_date)!),
  }));
  for (const [cid, versions] of group(userVersions, (v) => v.id)) {
    const v = latest(versions, ['name', 'country', 'signup']);
    facts.customers.set(cid, { name: v.name ?? null, country: v.country ?? 'unknown', signupDate: v.signup ?? null });
  }

  const seenStock = new Set<string>();
  for (const r of csvRows(join(dir, 'inventory.csv'))) {
    const level = Number(r.stock_level);
    const key = `${id(r.product_id)}|${norm(String(r.warehouse)).toUpperCase()}|${instant(r.updated_at)}`;
    if (level < 0 || seenStock.has(key)) continue; // negative stock is quarantined
    seenStock.add(key);
    const byWarehouse = facts.stock.get(id(r.product_id)) ?? new Map<string, number[]>();
    const wh = norm(String(r.warehouse)).toUpperCase();
    byWarehouse.set(wh, [...(byWarehouse.get(wh) ?? []), level]);
    facts.stock.set(id(r.product_id), byWarehouse);
  }

  // API orders: the latest version is the order.
  const versions = new Map<string, Row & { at: number }>();
  for (const o of jsonl(join(dir, 'orders.jsonl'))) {
    const at = instant(o.updated_at)!;
    const prev = versions.get(String(o.order_id));
    if (!prev || at > prev.at) versions.set(String(o.order_id), { ...o, at });
  }
  for (const o of versions.values()) {
    const status = norm(String(o.status)).toLowerCase();
    const lines = (o as unknown as { lines: Array<Record<string, unknown>> }).lines.map((l, i) => {
      const quantity = qty(l.quantity)!;
      const unitCents = money(l.unit_price, `order ${String(o.order_id)} unit_price`);
      return { lineNo: i + 1, productId: id(l.product_id), quantity, unitCents, amountCents: unitCents * BigInt(quantity) };
    });
    facts.orders.push({ source: 'api', orderId: id(o.order_id), date: day(instant(o.created_at)!), customerId: pseudo(o.user_id), status, cancelled: status === 'cancelled', lines });
  }

  // Purchase files: valid lines once per (OrderID, ProductID); an order's date is its earliest line's.
  const purchaseLines = new Map<string, { order: string; product: string; customer: string; date: string; quantity: number; unitCents: bigint; name: string | null }>();
  for (const f of readdirSync(join(dir, 'purchases')).filter((n) => !n.startsWith('.')).sort()) {
    const rows = /\.csv(\.gz)?$/i.test(f) ? csvRows(join(dir, 'purchases', f)) : jsonl(join(dir, 'purchases', f)).map((r) => ('Qty' in r ? { ...r, Quantity: r.Qty } : r));
    for (const r of rows) {
      if (r.__bad || ['CustomerID', 'OrderID', 'OrderDate', 'ProductID', 'Quantity', 'Price'].some((k) => missing(r[k]))) continue;
      const at = instant(r.OrderDate);
      const quantity = qty(r.Quantity);
      const unitCents = cents(r.Price);
      if (at === null || quantity === null || unitCents === null || (!missing(r.Total) && cents(r.Total) === null)) continue;
      const key = `${id(r.OrderID)}|${id(r.ProductID)}`;
      if (!purchaseLines.has(key)) purchaseLines.set(key, { order: id(r.OrderID), product: id(r.ProductID), customer: pseudo(r.CustomerID), date: day(at), quantity, unitCents, name: text(r.ProductName) });
    }
  }
  for (const [orderId, lines] of group([...purchaseLines.values()], (l) => l.order)) {
    lines.sort((a, b) => (a.product < b.product ? -1 : 1));
    facts.orders.push({
      source: 'file', orderId, status: 'purchased', cancelled: false,
      date: lines.map((l) => l.date).sort()[0]!, customerId: lines.map((l) => l.customer).sort()[0]!,
      lines: lines.map((l, i) => ({ lineNo: i + 1, productId: l.product, quantity: l.quantity, unitCents: l.unitCents, amountCents: l.unitCents * BigInt(l.quantity) })),
    });
  }

  const seen = new Set<string>();
  for (const e of jsonl(join(dir, 'events.jsonl'))) {
    if (['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'ts'].some((k) => missing(e[k]))) continue;
    const ts = instant(e.ts);
    if (!EVENT_NAMES.includes(String(e.event_name)) || ts === null) continue;
    if (!missing(e.price) && !/^\d+(\.\d+)?$/.test(String(e.price).trim())) continue;
    if (seen.has(String(e.event_id))) continue;
    seen.add(String(e.event_id));
    facts.events.push({
      eventId: id(e.event_id), eventName: String(e.event_name), date: day(ts), ts, customerId: pseudo(e.user_id), sessionId: id(e.session_id),
      productId: id(e.product_id), orderId: missing(e.order_id) ? null : id(e.order_id), priceCents: missing(e.price) ? null : money(e.price, `event ${String(e.event_id)} price`),
    });
  }

  // Facts never wait for the catalog: an unknown product or customer gets an inferred dimension row.
  const lineNames = new Map<string, string>();
  for (const l of purchaseLines.values()) if (l.name !== null && l.name > (lineNames.get(l.product) ?? '')) lineNames.set(l.product, l.name);
  const products = [...facts.orders.flatMap((o) => o.lines.map((l) => l.productId)), ...facts.events.map((e) => e.productId)];
  for (const p of products) if (!facts.products.has(p)) facts.products.set(p, { name: lineNames.get(p) ?? null, category: 'Uncategorised', categoryKey: 'uncategorised', priceCents: null });
  for (const c of [...facts.orders.map((o) => o.customerId), ...facts.events.map((e) => e.customerId)]) {
    if (!facts.customers.has(c)) facts.customers.set(c, { name: null, country: 'unknown', signupDate: null });
  }
  return facts;
}
