/**
 * MISSION.md's "Validity and normalisation", written again from the brief for the generator recount:
 * its own date parsing and calendar, decimal and quantity checks, text normalisation and CSV cells.
 * It imports nothing from shop/ (no rules, no records, no layout constants), so a bug in those cannot
 * agree with itself here. Each verdict names the manifest's defect kind it recognises.
 */

/** The manifest's invalid kinds, plus two the generator never plants (so their count must be 0). */
export const INVALID = ['missing_value', 'wrong_column_count', 'malformed_json', 'bad_quantity', 'bad_date', 'bad_price', 'unknown_name'] as const;
export type Invalid = (typeof INVALID)[number];
export type Verdict = { ok: true } | { ok: false; kind: Invalid };

const EVENT_NAMES = ['view', 'add_to_cart', 'wishlist', 'order', 'return'];
const PURCHASE_REQUIRED = ['CustomerID', 'OrderID', 'OrderDate', 'ProductID', 'Quantity', 'Price'];
const EVENT_REQUIRED = ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'ts'];

/** Absent, null or blank. */
export const absent = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');

/** "Text is trimmed, its inner whitespace collapsed, and Unicode normalised to NFC." */
export function tidy(s: string): string {
  let out = '';
  let space = false;
  for (const ch of s.normalize('NFC')) {
    if (/\s/u.test(ch)) space = out !== '';
    else {
      out += (space ? ' ' : '') + ch;
      space = false;
    }
  }
  return out;
}

const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const monthDays = (y: number, m: number) => [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;

/** Days since 1970-01-01 of a proleptic Gregorian date, counted by hand (no Date). */
function epochDay(y: number, m: number, d: number): number {
  let days = 0;
  for (let yy = 1970; yy < y; yy++) days += leap(yy) ? 366 : 365;
  for (let yy = y; yy < 1970; yy++) days -= leap(yy) ? 366 : 365;
  for (let mm = 1; mm < m; mm++) days += monthDays(y, mm);
  return days + d - 1;
}

/**
 * Epoch ms of an accepted date, else null: ISO 8601 `YYYY-MM-DD`, or `YYYY-MM-DDThh:mm[:ss[.fff]]`
 * with `Z`, `±hh:mm`, `±hhmm` or nothing (UTC); and `YYYY/MM/DD`. Impossible calendar dates are rejected.
 */
export function acceptedInstant(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const s = v.trim();
  const slash = /^(\d{4})\/(\d{2})\/(\d{2})$/.exec(s);
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  const m = slash ?? iso;
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > monthDays(y, mo)) return null;
  const [h, mi, sec] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (h > 23 || mi > 59 || sec > 59) return null;
  const zone = m[8] ?? 'Z';
  const offsetMin = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
  const ms = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  return ((epochDay(y, mo, d) * 24 + h) * 60 + mi - offsetMin) * 60_000 + sec * 1000 + ms;
}

/** "Quantities must be positive integers": a JSON integer, or digits only. */
export function positiveQuantity(v: unknown): bigint | null {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? BigInt(v) : null;
  if (typeof v !== 'string' || !/^\d+$/.test(v.trim())) return null;
  const q = BigInt(v.trim());
  return q > 0n ? q : null;
}

/** "Prices must be non-negative decimals": digits with an optional fraction, as an exact scaled integer. */
export function decimal(v: unknown): { units: bigint; scale: number } | null {
  const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : '';
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return null;
  const frac = m[2] ?? '';
  return { units: BigInt(`${m[1]}${frac}`), scale: frac.length };
}

/** Exact: does total equal quantity × price, whatever the number of decimals of each? */
export function totalAgrees(total: { units: bigint; scale: number }, quantity: bigint, price: { units: bigint; scale: number }): boolean {
  const scale = Math.max(total.scale, price.scale);
  return total.units * 10n ** BigInt(scale - total.scale) === quantity * price.units * 10n ** BigInt(scale - price.scale);
}

/** One purchase line keyed by canonical column names (aliases already mapped). */
export function purchaseVerdict(r: Record<string, unknown>): Verdict & { totalMismatch?: boolean } {
  if (PURCHASE_REQUIRED.some((k) => absent(r[k]))) return { ok: false, kind: 'missing_value' };
  if (acceptedInstant(r.OrderDate) === null) return { ok: false, kind: 'bad_date' };
  const quantity = positiveQuantity(r.Quantity);
  if (quantity === null) return { ok: false, kind: 'bad_quantity' };
  const price = decimal(r.Price);
  if (price === null) return { ok: false, kind: 'bad_price' };
  if (absent(r.Total)) return { ok: true, totalMismatch: false };
  // Total is optional, but one that is given and cannot be parsed makes the record unreadable.
  const total = decimal(r.Total);
  return total === null ? { ok: false, kind: 'bad_price' } : { ok: true, totalMismatch: !totalAgrees(total, quantity, price) };
}

export function eventVerdict(e: Record<string, unknown>): Verdict & { ts?: number } {
  if (EVENT_REQUIRED.some((k) => absent(e[k]))) return { ok: false, kind: 'missing_value' };
  if (!EVENT_NAMES.includes(String(e.event_name))) return { ok: false, kind: 'unknown_name' };
  const ts = acceptedInstant(e.ts);
  if (ts === null) return { ok: false, kind: 'bad_date' };
  // order_id and price may be null for any event; a price that is given must be a decimal.
  if (!absent(e.price) && decimal(e.price) === null) return { ok: false, kind: 'bad_price' };
  return { ok: true, ts };
}

/** RFC 4180 cells of one line; null when a quote is left open. */
export function csvCells(line: string): string[] | null {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  return quoted ? null : [...cells, cell];
}

/** A JSON object, or null for a line that is not one (malformed JSON). */
export function jsonObject(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
