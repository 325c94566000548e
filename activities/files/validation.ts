/**
 * The files pipeline's schema policy and record validation (docs/ingestion.md, "files"). The rules
 * themselves are the dataset contract's (contract/): this module only maps headers, wraps the rule
 * check in a zod schema and shapes a valid line into a staging.purchases row.
 *
 * Policy: known aliases are mapped (Qty -> Quantity); unknown extra columns are kept in
 * staging.purchases.extra and reported ("evolve"); a header lacking a required column, with an
 * empty name or with two columns meaning the same field cannot be mapped: the file is quarantined whole.
 */
import { z } from 'zod';
import type { CopyValue } from '../../lib/bulk';
import { jsonDepthExceeds } from '../../lib/json-depth';
import { idIssue, INT4_MAX, numericIssue } from '../../lib/storable';
import { PURCHASE_ALIASES, PURCHASE_COLUMNS } from '../../contract/layout';
import { checkCanonicalPurchase, checkPurchaseCells, checkPurchaseHeader, type PurchaseLine } from '../../contract/records';
import { isMissing, parsePrice } from '../../contract/rules';

const KNOWN = new Set<string>(PURCHASE_COLUMNS);
const canonicalName = (name: string): string => PURCHASE_ALIASES[name] ?? name;

export interface HeaderPlan {
  /** Canonical name of each column, in file order; unknown columns keep their own name. */
  names: string[];
  /** Header names mapped through an alias, e.g. { Qty: 'Quantity' }. */
  renamed: Record<string, string>;
  /** Columns beyond the known layout, kept in `extra`. */
  extra: string[];
}

export type HeaderVerdict = { ok: true; plan: HeaderPlan } | { ok: false; reason: string };

export function planHeader(cells: readonly string[]): HeaderVerdict {
  const header = cells.map((c) => c.trim());
  const empty = header.findIndex((h) => h === '');
  if (empty >= 0) return { ok: false, reason: `header column ${empty + 1} has no name` };
  const names = header.map(canonicalName);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) return { ok: false, reason: `header has more than one column for ${twice} (${header.filter((h) => canonicalName(h) === twice).join(', ')})` };
  const missing = checkPurchaseHeader(header);
  if (missing) return { ok: false, reason: `${missing} (required: ${PURCHASE_COLUMNS.join(', ')}; known aliases: ${JSON.stringify(PURCHASE_ALIASES)})` };
  const renamed = Object.fromEntries(header.filter((h) => canonicalName(h) !== h).map((h) => [h, canonicalName(h)]));
  return { ok: true, plan: { names, renamed, extra: names.filter((n) => !KNOWN.has(n)) } };
}

/** A valid purchase line plus the Total as given (null when blank). */
export type ValidPurchase = PurchaseLine & { total: string | null };


type Validated = { ok: true; value: ValidPurchase } | { ok: false; field: string; reason: string };

/** The layout's rules plus what staging's columns hold, over a record keyed by canonical names. */
function validatePurchase(record: Record<string, unknown>): Validated {
  const checked = checkCanonicalPurchase(record);
  if (!checked.ok) return checked;
  const total = isMissing(record.Total) ? null : parsePrice(record.Total);
  const v = checked.value;
  // Valid by the rules but beyond what staging's columns hold: quarantined rather than failing the load.
  const idFault = storableId('CustomerID', record.CustomerID) ?? storableId('OrderID', record.OrderID) ?? storableId('ProductID', record.ProductID);
  if (idFault) return idFault;
  if (v.quantity > INT4_MAX) return { ok: false, field: 'Quantity', reason: `Quantity ${v.quantity} is larger than ${INT4_MAX}` };
  const priceIssue = numericIssue(v.price);
  if (priceIssue) return { ok: false, field: 'Price', reason: `Price ${priceIssue}` };
  const totalIssue = total === null ? null : numericIssue(total);
  if (totalIssue) return { ok: false, field: 'Total', reason: `Total ${totalIssue}` };
  (v as ValidPurchase).total = total; // the line checkCanonicalPurchase just built, not shared
  return { ok: true, value: v as ValidPurchase };
}

/** Why an id field cannot be a staging key, or null. */
function storableId(field: string, value: unknown): { ok: false; field: string; reason: string } | null {
  // All ids are strings (the layout); a JSON number that is a safe integer reads as one, anything else is no id.
  if (typeof value !== 'string' && !(typeof value === 'number' && Number.isSafeInteger(value))) return { ok: false, field, reason: `${field} must be a string, got ${typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : String(value)}` };
  const issue = idIssue(String(value).trim());
  return issue ? { ok: false, field, reason: `${field} ${issue}` } : null;
}

/**
 * zod over the layout's rules: a record keyed by canonical names in, a valid line out, or one issue
 * naming the field. The loader calls validatePurchase directly (the same function, without zod's
 * per-record cost: a third of the Node time of a load).
 */
export const purchaseRecordSchema = z.record(z.string(), z.unknown()).transform((record, ctx): ValidPurchase => {
  const checked = validatePurchase(record);
  if (checked.ok) return checked.value;
  ctx.addIssue({ code: 'custom', path: [checked.field], message: checked.reason });
  return z.NEVER;
});

export type PurchaseVerdict = { ok: true; value: ValidPurchase; extra: Record<string, unknown> | null } | { ok: false; reason: string };

const NUL_REASON = 'contains a NUL character, which PostgreSQL text cannot store';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text staging cannot hold as it is, in any field of a JSON record (extras included), or null. */
function textIssueIn(record: Record<string, unknown>): string | null {
  for (const [k, v] of Object.entries(record)) {
    const text = typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : '';
    if (text.includes('\u0000') || text.includes('\\u0000')) return `${k} ${NUL_REASON}`;
    if (LONE_SURROGATE.test(text) || /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i.test(text)) return `${k} contains a lone surrogate (not valid Unicode)`;
  }
  return null;
}

function validatePurchaseRecord(record: Record<string, unknown>): PurchaseVerdict {
  const canonical: Record<string, unknown> = {};
  let extra: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(record)) {
    const name = canonicalName(k);
    canonical[name] = v;
    if (!KNOWN.has(name)) (extra ??= {})[name] = v;
  }
  const parsed = validatePurchase(canonical);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const text = textIssueIn(record);
  if (text) return { ok: false, reason: text };
  return { ok: true, value: parsed.value, extra };
}

/** A CSV row under a mapped header. plan.names are canonical: the record is keyed by them directly. */
export function validatePurchaseCells(plan: HeaderPlan, cells: readonly string[]): PurchaseVerdict {
  const { names } = plan;
  if (cells.length !== names.length) {
    const c = checkPurchaseCells(names, cells);
    return { ok: false, reason: c.ok ? `expected ${names.length} columns, got ${cells.length}` : c.reason };
  }
  const record: Record<string, unknown> = {};
  let extra: Record<string, unknown> | null = null;
  let nul = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const cell = cells[i] as string;
    record[name] = cell;
    if (!KNOWN.has(name)) (extra ??= {})[name] = cell;
    if (cell.includes('\u0000')) nul = true;
  }
  const parsed = validatePurchase(record);
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  if (nul) return { ok: false, reason: NUL_REASON };
  return { ok: true, value: parsed.value, extra };
}

/** A purchase line is flat; an extra field may hold a little structure, never this much. */
export const MAX_JSON_DEPTH = 32;

/** A JSON-lines value: must be an object; its unknown keys become `extra`. */
export function validatePurchaseJson(value: unknown): PurchaseVerdict {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  if (jsonDepthExceeds(value, MAX_JSON_DEPTH)) return { ok: false, reason: `nested more than ${MAX_JSON_DEPTH} levels deep` };
  return validatePurchaseRecord(value as Record<string, unknown>);
}


const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

// The lines of a file mostly share a few dates: the last one printed is kept.
let lastDayTime = NaN;
let lastDay = '';

/** toISOString().slice(0, 10) without building the whole timestamp (years 0-9999 print as 4 digits there too). */
function isoDay(d: Date): string {
  const time = d.getTime();
  if (time === lastDayTime) return lastDay;
  lastDay = printDay(d);
  lastDayTime = time;
  return lastDay;
}

function printDay(d: Date): string {
  const year = d.getUTCFullYear();
  if (!(year >= 1000 && year <= 9999)) return d.toISOString().slice(0, 10); // NaN too: it throws there
  return `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** A valid line's COPY row, in PURCHASE_COPY_COLUMNS' order; its file's values follow (purchaseRows' suffix). */
export function purchaseRow(p: ValidPurchase, extra: Record<string, unknown> | null, line: number): CopyValue[] {
  return [p.orderId, p.productId, p.customerId, isoDay(p.orderDate), p.productName, p.quantity, p.price, p.total, p.totalMismatch, extra, line];
}
