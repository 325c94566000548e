/**
 * Validation of order versions from the orders API (pure, unit-tested). A version is valid when its
 * ids, status and timestamps are present and parse, and every line has a product, a positive
 * integer quantity and a non-negative decimal price (the shared rules of contract/rules.ts, so
 * the pipeline judges a record exactly as the generator's manifest counts it).
 */
import { z } from 'zod';
import { ORDER_STATUSES } from '../../contract/layout';
import { parseDate, parsePrice, parseQuantity } from '../../contract/rules';
import type { Rejected } from '../common/quarantine';
import { jsonDepthExceeds } from '../../lib/json-depth';
import { idIssue, INT4_MAX, MAX_JSON_DEPTH, numericIssue, safeStringify } from '../../lib/storable';

// Ids are kept as received (not trimmed): they are join keys, and the source owns their spelling.
const id = z.string({ error: 'is missing or not a string' }).superRefine((v, ctx) => {
  const issue = v.trim() === '' ? 'is blank' : idIssue(v);
  if (issue) ctx.addIssue({ code: 'custom', message: issue });
});
const instant = z.unknown().transform((v, ctx) => {
  const d = parseDate(v);
  if (!d) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v) ?? 'undefined'} is not an ISO 8601 date-time` });
    return z.NEVER;
  }
  return d.toISOString();
});
const quantity = z.unknown().transform((v, ctx) => {
  const q = parseQuantity(v);
  if (q !== null && q <= INT4_MAX) return q;
  ctx.addIssue({ code: 'custom', message: q === null ? `${JSON.stringify(v) ?? 'undefined'} is not a positive integer` : `${q} is larger than ${INT4_MAX}` });
  return z.NEVER;
});
const price = z.unknown().transform((v, ctx) => {
  const p = parsePrice(v);
  const issue = p === null ? `${JSON.stringify(v) ?? 'undefined'} is not a non-negative decimal` : numericIssue(p);
  if (p !== null && !issue) return p;
  ctx.addIssue({ code: 'custom', message: issue ?? 'is not a non-negative decimal' });
  return z.NEVER;
});

export const orderVersionSchema = z.object({
  order_id: id,
  user_id: id,
  status: z.enum(ORDER_STATUSES, { error: `must be one of ${ORDER_STATUSES.join(', ')}` }),
  created_at: instant,
  updated_at: instant,
  // Non-empty, as the dataset rule (checkOrder): an order version without lines cannot be valued.
  lines: z.array(z.object({ product_id: id, quantity, unit_price: price }), { error: 'must be an array of lines' }).min(1, { error: 'must have at least one line' }),
});

/** The API's page envelope; anything else is a broken response, not a bad record. */
export const ordersPageSchema = z.object({ data: z.array(z.unknown()), next_cursor: z.string().min(1).nullable() });
export type OrdersPage = z.infer<typeof ordersPageSchema>;
export const PAGE_SHAPE = 'JSON {"data": [...], "next_cursor": string | null}';

export type PageRead = { ok: true; page: OrdersPage } | { ok: false; problem: string };

/**
 * Reads a 200 body as a page, or says what it is instead: why it is not a page, its content type
 * and its first 200 characters (a proxy's error page, a login page, JSON cut short).
 */
export function readOrdersPage(body: string, contentType: string | null): PageRead {
  const received = `received content-type ${contentType ?? '(none)'}, ${body.length} characters: ${JSON.stringify(body.slice(0, 200))}`;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    return { ok: false, problem: `a body that is not JSON (${err instanceof Error ? err.message : String(err)}); ${received}` };
  }
  const page = ordersPageSchema.safeParse(json);
  if (!page.success) return { ok: false, problem: `JSON that is not a page (${describeIssues(page.error)}); ${received}` };
  return { ok: true, page: page.data };
}

export interface OrderRow { order_id: string; updated_at: string; user_id: string; status: string; created_at: string }
export interface OrderLineRow { order_id: string; updated_at: string; line_no: number; product_id: string; quantity: number; unit_price: string }
export interface ParsedOrders { orders: OrderRow[]; lines: OrderLineRow[]; rejected: Rejected[] }

/** Turns zod issues into one reason naming each bad field, e.g. `lines.1.quantity: "0" is not a positive integer`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'record'}: ${i.message}`).join('; ');
}

/** Splits a page into rows to load and rejected records; `refPrefix` makes refs unique per load (`page-3`). */
export function parseOrderVersions(data: readonly unknown[], refPrefix: string): ParsedOrders {
  const out: ParsedOrders = { orders: [], lines: [], rejected: [] };
  const seen = new Set<string>();
  data.forEach((record, i) => {
    // Before zod: its messages and the quarantine's JSON would recurse through a 10,000-deep value.
    if (jsonDepthExceeds(record, MAX_JSON_DEPTH)) {
      out.rejected.push({ ref: `${refPrefix}:${i}`, reason: `record: nested more than ${MAX_JSON_DEPTH} levels deep`, record: safeStringify(record) });
      return;
    }
    const parsed = orderVersionSchema.safeParse(record);
    if (!parsed.success) {
      const orderId = (record as { order_id?: unknown } | null)?.order_id;
      // The ref names the order when its id can be a key; a hostile id (NUL, 3 kB) would fail the quarantine row itself.
      const named = typeof orderId === 'string' && orderId.length <= 200 && !idIssue(orderId);
      const ref = `${refPrefix}:${i}${named ? `:${orderId}` : ''}`;
      out.rejected.push({ ref, reason: describeIssues(parsed.error), record });
      return;
    }
    const o = parsed.data;
    out.orders.push({ order_id: o.order_id, updated_at: o.updated_at, user_id: o.user_id, status: o.status, created_at: o.created_at });
    // A repeated version is a duplicate as a whole: only the first copy's lines may be merged.
    const key = `${o.order_id}\u0000${o.updated_at}`;
    if (seen.has(key)) return;
    seen.add(key);
    o.lines.forEach((l, n) => out.lines.push({ order_id: o.order_id, updated_at: o.updated_at, line_no: n + 1, product_id: l.product_id, quantity: l.quantity, unit_price: l.unit_price }));
  });
  return out;
}
