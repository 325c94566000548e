/**
 * The fuzzer's vocabulary, pure and seeded: what a fuzzed record is (its bytes and what the
 * pipeline must do with it), and the hostile pieces every source is mutated with (random text,
 * a megabyte field, 10,000-deep nesting, invalid UTF-8). The same seed gives the same bytes.
 */
import { Rng } from '../../shop/generator/prng';

export { Rng };

/** What the pipeline must do with a record; `either` records are only accounted (and, if quarantined, their reason checked). */
export type Expect = 'quarantine' | 'load' | 'either';

export const FAMILIES = [
  'wrong type', 'missing field', 'extra field', 'NUL byte', 'invalid UTF-8', '1 MB field', 'deep nesting', 'bad date',
  'huge number', 'duplicated key', 'column count', 'truncated', 'not an object', 'bad value', 'odd but valid', 'storage limit',
] as const;
export type Family = (typeof FAMILIES)[number];

/** One fuzzed record as its source carries it. */
export interface Mutant {
  family: Family;
  /** `<field>=<variant>`, stable across runs: the unit of the report. */
  kind: string;
  field: string | null;
  expect: Expect;
  /** A quarantined copy's reason must match this: the field's name, or a clear structural reason. */
  reason: RegExp;
  bytes: Buffer;
  /** The staging key a loaded copy has (null: unknown, e.g. the key field itself is broken). */
  key: string | null;
  /** UTC date (YYYY-MM-DD) a loaded copy must hold in `field`: catches dates read as another date. */
  date?: string;
}

/** Reasons that name no field but say plainly what is wrong with the record as a whole. */
export const STRUCTURAL = /not valid JSON|not valid UTF-8|nested more than \d+ levels|not a JSON object|NUL|expected \d+ columns|1 MiB|longer than|overlong|never closed|unreadable|surrogate|empty message|record: /;

export const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The field by name (as a path segment too: `lines.0.quantity`), or a structural reason. */
export const fieldReason = (field: string) => new RegExp(`(^|[^A-Za-z_])${escapeRe(field)}([^A-Za-z_]|$)|${STRUCTURAL.source}`);

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Random ASCII letters: incompressible enough that PostgreSQL cannot squeeze a long one into an index entry. */
export function randomText(rng: Rng, length: number): string {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ALPHABET.charCodeAt(Math.floor(rng.next() * ALPHABET.length));
  return out.toString('latin1');
}

/** A megabyte (10^6 characters) field: under the 1 MiB record caps, so the field itself is judged. */
export const MB = 1_000_000;
/** Past the 1 MiB record caps of the files and events readers. */
export const OVER_MIB = (1 << 20) + 50_000;

export const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
export const DEEP = 10_000;

/** Text that needs normalisation or is simply unusual, yet valid: NFD, zero-width, bidi, emoji, odd spaces. */
export const ODD_TEXT = ['Cafe\u0301 au lait', 'a\u200bb\u200dc', '\u202eevil\u202c', '👩‍👩‍👧 family', '  many   spaces\t', 'ＦＵＬＬ', 'ǅemo', '\u00a0nbsp\u00a0', '日本語テキスト', 'e\u0301\u0302\u0303\u0304'];

/** Bytes that are not UTF-8, spliced into JSON string content. */
export const BAD_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from([0xe2, 0x82])];

/** A JSON string's text with raw bytes spliced into its middle (the result is not UTF-8 when `bad` is not). */
export function spliceBytes(jsonString: string, bad: Buffer): Buffer {
  const mid = Math.max(1, Math.floor(jsonString.length / 2));
  return Buffer.concat([Buffer.from(jsonString.slice(0, mid)), bad, Buffer.from(jsonString.slice(mid))]);
}

/** A piece of a JSON text: ordinary text, or bytes (possibly not UTF-8). */
export type Piece = string | Buffer;
export const MISSING = Symbol('missing');

/** `{"k":v,...}` from pieces, in order; the same key twice stays twice (JSON.parse keeps the last). */
export function jsonObject(entries: ReadonlyArray<readonly [string, Piece]>): Buffer {
  const parts: Buffer[] = [Buffer.from('{')];
  entries.forEach(([k, v], i) => {
    parts.push(Buffer.from(`${i ? ',' : ''}${JSON.stringify(k)}:`), typeof v === 'string' ? Buffer.from(v) : v);
  });
  parts.push(Buffer.from('}'));
  return Buffer.concat(parts);
}

/** Fisher-Yates with the fuzzer's own generator. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
