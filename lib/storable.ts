/**
 * What staging's columns can hold, beyond the dataset rules: a record that passes the rules but not
 * these would fail its load's COPY or key index and take the whole page or file down with it, so it
 * is quarantined instead, with the field named. Shared by the orders and files pipelines.
 */
import { jsonDepthExceeds } from './json-depth';

/** A key past this (UTF-8 bytes) would exceed PostgreSQL's btree row limit (~2.7 kB) once indexed. */
export const MAX_ID_BYTES = 1000;
export const INT4_MAX = 2_147_483_647;
/** numeric(14, 2): 12 integer digits, after rounding to cents. */
const NUMERIC_14_2_CENTS_LIMIT = 10n ** 14n;
/** A record is flat; an extra field may hold a little structure, never this much. */
export const MAX_JSON_DEPTH = 32;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why text cannot be stored as it is (a NUL, a lone surrogate, a U+FFFD left by bad UTF-8), or null. */
export function textIssue(value: string): string | null {
  if (value.includes('\u0000')) return 'contains a NUL character, which PostgreSQL text cannot store';
  if (LONE_SURROGATE.test(value)) return 'contains a lone surrogate (not valid Unicode)';
  if (value.includes('\uFFFD')) return 'contains U+FFFD: bytes that were not valid UTF-8';
  return null;
}

/** Why an id cannot be a staging key, or null. */
export function idIssue(value: string): string | null {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short ids need no byte count.
  if (value.length * 3 > MAX_ID_BYTES && Buffer.byteLength(value) > MAX_ID_BYTES) return `is longer than ${MAX_ID_BYTES} bytes`;
  return textIssue(value);
}

/** Why a canonical decimal cannot be stored in numeric(14, 2) once rounded to cents, or null. */
export function numericIssue(decimal: string): string | null {
  // Up to 11 integer digits cannot reach 10^12 even rounded up: the common case, without BigInt.
  const dot = decimal.indexOf('.');
  if ((dot === -1 ? decimal.length : dot) <= 11) return null;
  const [int = '0', frac = ''] = decimal.split('.');
  if (int.length > 15) return `${decimal} has more than 12 integer digits`;
  const cents = BigInt(int) * 100n + BigInt(frac.slice(0, 2).padEnd(2, '0')) + (Number(frac[2] ?? '0') >= 5 ? 1n : 0n);
  return cents >= NUMERIC_14_2_CENTS_LIMIT ? `${decimal} has more than 12 integer digits once rounded to cents` : null;
}

/** JSON.stringify that cannot overflow the stack: a too-deep value is described instead. */
export function safeStringify(value: unknown): string {
  if (jsonDepthExceeds(value, MAX_JSON_DEPTH)) return JSON.stringify(`(a value nested more than ${MAX_JSON_DEPTH} levels deep; the raw zone keeps it as received)`);
  return JSON.stringify(value) ?? 'undefined';
}
