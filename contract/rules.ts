/**
 * Validity and normalisation rules of the dataset layout (MISSION.md, "Validity and normalisation").
 * Pure and dependency-free so the generator, the simulator and the ingestion pipeline all judge a
 * record the same way: a record the generator counts as invalid is exactly one ingestion quarantines.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const SLASH_DATE = /^(\d{4})\/(\d{2})\/(\d{2})$/;
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;
const POSITIVE_INT = /^\d+$/;
const NOT_PLAIN = /[^\x20-\x7e]|^ | $|  /;

/** Date.UTC, but years 0-99 are those years, not 1900-1999. */
function utc(year: number, month0: number, day: number, h = 0, min = 0, s = 0, ms = 0): number {
  if (year >= 100) return Date.UTC(year, month0, day, h, min, s, ms);
  const d = new Date(Date.UTC(2000, month0, day, h, min, s, ms));
  d.setUTCFullYear(year, month0, day);
  return d.getTime();
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1-12) of `year` in the proleptic Gregorian calendar, as Date counts them. */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1] as number;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

function offsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || zone === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m) return null;
  const [h, min] = [Number(m[2]), Number(m[3])];
  if (h > 23 || min > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (h * 60 + min);
}

/**
 * Accepts ISO 8601 dates (`2024-01-05`), date-times with or without offset (no offset means UTC)
 * and `2024/01/05`; everything else, including impossible calendar dates, is null.
 */
export function parseDate(input: unknown): Date | null {
  if (typeof input !== 'string') return null;
  const s = input.trim();
  const d = ISO_DATE.exec(s) ?? SLASH_DATE.exec(s);
  const t = d ? null : ISO_DATE_TIME.exec(s);
  const m = d ?? t;
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (!t) return new Date(utc(year, month - 1, day));
  const [hour, minute, second] = [Number(t[4]), Number(t[5]), Number(t[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return null;
  const offset = offsetMinutes(t[8]);
  if (offset === null) return null;
  const ms = Number((t[7] ?? '0').padEnd(3, '0').slice(0, 3));
  return new Date(utc(year, month - 1, day, hour, minute, second, ms) - offset * 60_000);
}

/** A quantity is a positive integer, given as digits or as a JSON number. */
export function parseQuantity(input: unknown): number | null {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input > 0 ? input : null;
  if (typeof input !== 'string') return null;
  const s = input.trim();
  if (!POSITIVE_INT.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/**
 * A price is a non-negative decimal. Returned as a canonical decimal string (never a float) so that
 * amounts stay exact all the way to `numeric` columns.
 */
export function parsePrice(input: unknown): string | null {
  let s: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return null;
    s = String(input);
    if (!DECIMAL.test(s)) return null; // exponent notation such as 1e-7
  } else if (typeof input === 'string') {
    s = input.trim();
    if (!DECIMAL.test(s)) return null;
  } else {
    return null;
  }
  // Already canonical unless it starts with a zero followed by another digit ("007", "00.5").
  if (s.charCodeAt(0) !== 48 || s.length === 1 || s.charCodeAt(1) === 46) return s;
  const [int = '0', frac = ''] = s.split('.');
  const intPart = int.replace(/^0+(?=\d)/, '');
  return frac === '' ? intPart : `${intPart}.${frac}`;
}

function scaled(decimal: string, scale: number): bigint {
  const [int = '0', frac = ''] = decimal.split('.');
  return BigInt(int + frac.padEnd(scale, '0'));
}

function fractionDigits(decimal: string): number {
  const dot = decimal.indexOf('.');
  if (dot === -1) return 0;
  const next = decimal.indexOf('.', dot + 1); // what split('.')[1] would end at
  return (next === -1 ? decimal.length : next) - dot - 1;
}

/** Exact quantity × price, as a decimal string with the price's precision. */
export function multiplyDecimal(quantity: number, price: string): string {
  const scale = fractionDigits(price);
  // Exact in a double while the product is a safe integer (a rounded product past 2^53 is not one).
  const small = Number(scale === 0 ? price : price.replace('.', '')) * quantity;
  const product = Number.isSafeInteger(small) ? String(small) : (scaled(price, scale) * BigInt(quantity)).toString();
  const digits = product.padStart(scale + 1, '0');
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** Numeric equality of two canonical decimals (`40` equals `40.00`). */
export function decimalEquals(a: string, b: string): boolean {
  if (a === b) return true;
  const scale = Math.max(fractionDigits(a), fractionDigits(b));
  return scaled(a, scale) === scaled(b, scale);
}

/** Trim, collapse inner whitespace, Unicode NFC. Case is kept: it is display text. */
export function normaliseText(input: string): string {
  if (!NOT_PLAIN.test(input)) return input; // printable ASCII, single inner spaces: nothing to change
  return input.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** Grouping key for text that differs only in case or whitespace (category names, for example). */
export function textKey(input: string): string {
  return normaliseText(input).toLowerCase();
}

/** True when a value counts as missing: absent, null, or blank text. */
export function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}
