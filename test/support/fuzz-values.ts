/**
 * Hostile values per kind of field, as JSON text (or bytes), each with what the dataset contract
 * says must happen to the record holding it (MISSION.md, "Validity and normalisation"): a required
 * field missing or unparseable quarantines the record; odd but valid values load. Sources adjust
 * the few verdicts where their documented rules differ (events take integer ids, say).
 */
import { BAD_UTF8, DEEP, deepArray, MB, MISSING, ODD_TEXT, OVER_MIB, randomText, spliceBytes, type Expect, type Family, type Piece, type Rng } from './fuzz-core';

export interface Variant {
  name: string;
  family: Family;
  /** The value; a function for the costly ones (a megabyte of text), built only when drawn. */
  piece: Piece | typeof MISSING | (() => Piece);
  expect: Expect;
  /** The id value a loaded copy is staged under (when this field is the key), before the source's own trimming. */
  id?: string;
  /** Duplicated key: this piece first, `piece` last (JSON.parse keeps the last). */
  first?: Piece;
  /** UTC date (YYYY-MM-DD) a loaded copy must hold. */
  date?: string;
  /** Heavy variants (a megabyte, 10,000 levels) are drawn rarely once each has been covered. */
  heavy?: boolean;
}

export interface ValueContext { rng: Rng; uid: string; num: number }
export type FieldClass = 'keyId' | 'id' | 'optId' | 'date' | 'quantity' | 'price' | 'optPrice' | 'enum' | 'text';

const s = (v: string) => JSON.stringify(v);
const v = (name: string, family: Family, piece: Variant['piece'], expect: Expect, more: Partial<Variant> = {}): Variant => ({ name, family, piece, expect, ...more });

/** Wrong types and missing values: wrong for every required field. */
function common(required: boolean): Variant[] {
  const q: Expect = required ? 'quarantine' : 'either';
  return [
    v('missing', 'missing field', MISSING, q), v('null', 'missing field', 'null', q), v('empty', 'missing field', '""', q),
    v('blank', 'missing field', s(' \t '), q), v('true', 'wrong type', 'true', 'quarantine'), v('object', 'wrong type', '{"v":1}', 'quarantine'),
    v('array', 'wrong type', '["1"]', 'quarantine'), v('1e400', 'huge number', '1e400', 'quarantine'), v('deep', 'deep nesting', () => deepArray(DEEP), 'quarantine', { heavy: true }),
  ];
}

function ids(c: ValueContext, cls: 'keyId' | 'id' | 'optId'): Variant[] {
  const id = c.uid;
  const odd = `${id}${c.rng.pick(['é', '✓', '\u200b', '🙂', 'ß', 'e\u0301', '\u202e'])}`;
  const long = cls === 'keyId' ? 'quarantine' : 'either';
  return [
    ...common(cls !== 'optId'),
    v('integer', 'wrong type', String(c.num), 'either', { id: String(c.num) }),
    v('unsafe integer', 'huge number', '123456789012345678901234567890', 'quarantine'),
    v('escaped NUL', 'NUL byte', s(`${id}\u0000x`), 'quarantine'),
    v('lone surrogate', 'invalid UTF-8', `"${id}\\ud800"`, 'quarantine'),
    v('invalid UTF-8', 'invalid UTF-8', () => spliceBytes(s(id), c.rng.pick(BAD_UTF8)), 'quarantine'),
    v('3000 bytes', 'storage limit', () => s(`${id}${randomText(c.rng, 3000)}`), long),
    v('1 MB', '1 MB field', () => s(`${id}${randomText(c.rng, MB)}`), long, { heavy: true }),
    v('odd unicode', 'odd but valid', s(odd), 'load', { id: odd }),
    v('padded', 'odd but valid', s(`  ${id} `), 'load', { id: `  ${id} ` }),
    v('dup key, last valid', 'duplicated key', s(id), 'load', { first: '""', id }),
    v('dup key, last blank', 'duplicated key', '""', 'quarantine', { first: s(id) }),
  ];
}

export const BAD_DATES = [
  '2024-13-01', '2024-02-30', '2023-02-29', '2024-00-10', '01/03/2024', '03-01-2024', '2024-3-1', '2024.03.01', 'yesterday',
  '2024-03-01T24:00:00Z', '2024-03-01T10:61:00Z', '2024-03-01T10:00:60Z', '2024-03-01T10:00:00+24:00', '2024-03-01T10:00:00 +01:00',
  '2024-03-01 10:00:00', '2024-03-01T10', '+002024-03-01', '10000-01-01', '-0001-01-01', 'Fri, 01 Mar 2024 10:00:00 GMT',
  '1709287200', '2024-03-01T10:00:00.1234567890Z', '2024-03-01Z', '２０２４-03-01', '2024-03-01T10:00:00ZZ', 'NaN', '0',
];
/** ISO 8601 forms the rules may or may not take: only accounted. */
export const EDGE_DATES = ['20240301', '2024-W09-5', '2024-061', '2024-03-01T10:00:00,5Z', '2024-03-01T10:00:00+0530'];
/** Valid in every source's rules: must load, and keep their day. */
export const GOOD_DATES: Array<[string, string]> = [
  ['2024/03/01', '2024-03-01'], ['2024-03-01T10:00Z', '2024-03-01'], ['  2024-03-01T23:30:00-02:00 ', '2024-03-02'],
  ['2024-03-01T10:00:00.123456789+05:30', '2024-03-01'], ['2024-02-29', '2024-02-29'],
];

function dates(): Variant[] {
  return [
    ...common(true),
    v('epoch number', 'wrong type', '1709287200', 'quarantine'),
    ...BAD_DATES.map((d) => v(d, 'bad date', s(d), 'quarantine')),
    ...EDGE_DATES.map((d) => v(d, 'bad date', s(d), 'either')),
    ...GOOD_DATES.map(([d, day]) => v(d, 'odd but valid', s(d), 'load', { date: day })),
    // Years before 100 must not turn into 19xx; far-future stays representable.
    v('0024-03-01', 'bad date', s('0024-03-01'), 'either', { date: '0024-03-01' }),
    v('0099-12-31T10:00:00Z', 'bad date', s('0099-12-31T10:00:00Z'), 'either', { date: '0099-12-31' }),
    v('9999-12-31T23:59:59Z', 'odd but valid', s('9999-12-31T23:59:59Z'), 'either', { date: '9999-12-31' }),
    v('escaped NUL', 'NUL byte', s('2024-03-01\u0000'), 'quarantine'),
    v('dup key, last bad', 'duplicated key', s('2024-02-30'), 'quarantine', { first: s('2024-03-01') }),
  ];
}

function quantities(): Variant[] {
  return [
    ...common(true),
    ...['0', '-1', '1.5', '"1.5"', '"abc"', '"1e3"', '"0x10"', '"1,000"', '"1_000"', '"９"', '"٣"', '"Infinity"', '"NaN"', '"2.0"']
      .map((x) => v(x, x.startsWith('"') ? 'bad value' : 'wrong type', x, x === '"2.0"' ? 'either' : 'quarantine')),
    v('2147483648', 'huge number', '2147483648', 'quarantine'), v('9007199254740993', 'huge number', '9007199254740993', 'quarantine'),
    v('12345678901234567890', 'huge number', '12345678901234567890', 'quarantine'),
    v('2147483647', 'odd but valid', '2147483647', 'load'), v('"7" as text', 'odd but valid', '" 7 "', 'load'), v('3.0', 'odd but valid', '3.0', 'load'),
    v('"+3"', 'bad value', '"+3"', 'either'), v('dup key, last zero', 'duplicated key', '0', 'quarantine', { first: '2' }),
  ];
}

function prices(required: boolean): Variant[] {
  const q: Expect = 'quarantine';
  return [
    ...common(required),
    ...['-1', '"-0.01"', '"1,50"', '"$5"', '"abc"', '"NaN"', '"Infinity"', '"1.2.3"', '"１２"'].map((x) => v(x, 'bad value', x, q)),
    ...['"1e2"', '1e-7', '".5"', '"5."'].map((x) => v(x, 'bad value', x, 'either')),
    v('"1234567890123"', 'huge number', '"1234567890123"', q), v('"999999999999.995"', 'huge number', '"999999999999.995"', q),
    v('12345678901234567890', 'huge number', '12345678901234567890', q), v('"1e400"', 'huge number', '"1e400"', q),
    v('"999999999999.99"', 'odd but valid', '"999999999999.99"', 'load'), v('0', 'odd but valid', '0', 'load'),
    v('"0.001"', 'odd but valid', '"0.001"', 'load'), v('12.5', 'odd but valid', '12.5', 'load'), v('" 2.50 "', 'odd but valid', '" 2.50 "', 'load'),
    v('dup key, last negative', 'duplicated key', '"-1"', q, { first: '"1.00"' }),
  ];
}

function enums(values: readonly string[]): Variant[] {
  return [
    ...common(true),
    v('unknown', 'bad value', '"lost"', 'quarantine'), v('number', 'wrong type', '5', 'quarantine'),
    v('upper case', 'bad value', s((values[0] ?? '').toUpperCase()), 'either'), v('padded', 'bad value', s(` ${values[0] ?? ''} `), 'either'),
    v('escaped NUL', 'NUL byte', s(`${values[0] ?? ''}\u0000`), 'quarantine'),
  ];
}

function texts(c: ValueContext): Variant[] {
  return [
    v('missing', 'missing field', MISSING, 'load'), v('null', 'missing field', 'null', 'load'),
    ...ODD_TEXT.map((t, i) => v(`odd ${i}`, 'odd but valid', s(t), 'load')),
    v('escaped NUL', 'NUL byte', s('a\u0000b'), 'quarantine'), v('lone surrogate', 'invalid UTF-8', '"a\\udc00b"', 'quarantine'),
    v('invalid UTF-8', 'invalid UTF-8', () => spliceBytes(s('Widget name'), c.rng.pick(BAD_UTF8)), 'quarantine'),
    v('1 MB', '1 MB field', () => s(randomText(c.rng, MB)), 'load', { heavy: true }),
    v('over 1 MiB', '1 MB field', () => s(randomText(c.rng, OVER_MIB)), 'either', { heavy: true }),
    v('deep', 'deep nesting', () => deepArray(DEEP), 'either', { heavy: true }), v('number', 'wrong type', '42', 'either'),
  ];
}

/** Every variant of a field of class `cls`; `values` are an enum's allowed values. */
export function variantsFor(cls: FieldClass, c: ValueContext, values: readonly string[] = []): Variant[] {
  switch (cls) {
    case 'keyId': case 'id': case 'optId': return ids(c, cls);
    case 'date': return dates();
    case 'quantity': return quantities();
    case 'price': return prices(true);
    case 'optPrice': return prices(false).map((x) => (x.family === 'missing field' ? { ...x, expect: 'load' as Expect } : x));
    case 'enum': return enums(values);
    case 'text': return texts(c);
  }
}

/** Extra fields: unknown fields never reject a record (MISSION.md); hostile content in them may. */
export function extraVariants(c: ValueContext): Variant[] {
  return [
    v('plain', 'extra field', s('x'), 'load'), v('object', 'extra field', '{"a":[1,{"b":null}]}', 'load'),
    v('1e400', 'huge number', '1e400', 'either'), v('huge integer', 'huge number', '123456789012345678901234567890', 'either'),
    v('escaped NUL', 'NUL byte', s('a\u0000b'), 'either'), v('deep', 'deep nesting', () => deepArray(DEEP), 'either', { heavy: true }),
    v('1 MB', '1 MB field', () => s(randomText(c.rng, MB)), 'either', { heavy: true }),
  ];
}
