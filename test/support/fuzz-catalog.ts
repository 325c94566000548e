/**
 * Fuzzed shop-database rows (pure). The shop's tables are typed, so nothing unstorable reaches the
 * catalog pipeline: the fuzz is in what PostgreSQL stores happily but the rules refuse or must keep
 * intact (blank and padded ids, a megabyte of text, odd Unicode, negative stock, ratings out of
 * range, dates before year 100 or BC, updated_at in year 9999).
 */
import { randomText, Rng, MB, ODD_TEXT, fieldReason, type Expect, type Family } from './fuzz-core';

export const CATALOG_TABLES = ['products', 'users', 'inventory', 'reviews'] as const;
export type CatalogTable = (typeof CATALOG_TABLES)[number];
export type Cell = string | number | null;

/** Which partition a row is read in: the run's era day, the last day of year 9999 (or the wide rows' own day). */
export type CatalogWindow = 'era' | 'future' | 'wide';

export interface CatalogRow {
  table: CatalogTable;
  values: Record<string, Cell>;
  role: 'bad' | 'valid';
  family: Family | 'valid';
  kind: string;
  expect: Expect;
  reason: RegExp;
  /** The key columns joined by `|`, as the load's quarantine ref and staging hold them. */
  key: string;
  window: CatalogWindow;
  /** A loaded copy must hold this date (YYYY-MM-DD) in `dateColumn`. */
  date?: string;
  dateColumn?: string;
}

export const KEY_COLUMNS: Record<CatalogTable, string[]> = { products: ['product_id'], users: ['user_id'], inventory: ['product_id', 'warehouse'], reviews: ['review_id'] };

interface CatalogVariant { column: string; name: string; family: Family; value: (r: Rng, id: string) => Cell; expect: Expect; window?: CatalogWindow; date?: string }
const cv = (column: string, name: string, family: Family, value: CatalogVariant['value'], expect: Expect, more: Partial<CatalogVariant> = {}): CatalogVariant => ({ column, name, family, value, expect, ...more });

const BLANKS = ['', ' ', '\t', '\u3000', '\u00a0 '];
/** Ids: blank (each spelling once per table, keys are unique), padded, odd Unicode, long. */
const idVariants = (col: string, blankOnce: boolean): CatalogVariant[] => [
  ...(blankOnce ? BLANKS : ['', ' ']).map((b, i) => cv(col, `blank ${i}`, 'missing field', () => b, 'quarantine')),
  cv(col, 'padded', 'odd but valid', (_r, id) => `  ${id} `, 'load'), cv(col, 'odd unicode', 'odd but valid', (r, id) => `${id}${r.pick(ODD_TEXT)}`, 'load'),
  cv(col, '2000 bytes', 'storage limit', (r, id) => `${id}${randomText(r, 2000)}`, 'either'),
];
const textVariants = (col: string): CatalogVariant[] => [
  cv(col, '1 MB', '1 MB field', (r) => randomText(r, MB), 'load'), cv(col, 'null', 'missing field', () => null, 'load'), cv(col, 'empty', 'missing field', () => '', 'load'),
  ...ODD_TEXT.map((t, i) => cv(col, `odd ${i}`, 'odd but valid', () => t, 'load')),
];
// Inside the partition [9999-12-31, 9999-12-31T23:59:59.999Z).
const FAR = '9999-12-31 12:00:00.123456+00';
const timeVariants = (col: string): CatalogVariant[] => [
  cv(col, 'year 9999', 'odd but valid', () => FAR, 'load', { window: 'future' }),
  cv(col, 'microseconds', 'odd but valid', () => 'ERA 12:00:00.000001+00', 'load'),
];

const VARIANTS: Record<CatalogTable, CatalogVariant[]> = {
  products: [
    ...idVariants('product_id', true), ...textVariants('product_name'), ...textVariants('category'), ...timeVariants('updated_at'),
    cv('price', 'negative', 'bad value', () => '-0.01', 'quarantine'), cv('price', 'zero', 'odd but valid', () => '0', 'load'),
    cv('price', 'max', 'huge number', () => '999999999999.99', 'load'), cv('price', 'null', 'missing field', () => null, 'load'),
  ],
  users: [
    ...idVariants('user_id', true), ...textVariants('user_name'), ...textVariants('email'), ...textVariants('country'), ...timeVariants('updated_at'),
    cv('signup_date', 'year 9999', 'odd but valid', () => '9999-12-31', 'load', { date: '9999-12-31' }),
    cv('signup_date', 'year 24', 'bad date', () => '0024-03-01', 'either', { date: '0024-03-01' }),
    cv('signup_date', 'BC', 'bad date', () => '0044-03-15 BC', 'quarantine'),
    cv('signup_date', 'year 10000', 'bad date', () => '10000-01-01', 'either'), cv('signup_date', 'null', 'missing field', () => null, 'load'),
  ],
  inventory: [
    ...idVariants('product_id', false), ...idVariants('warehouse', false), ...timeVariants('updated_at'),
    cv('stock_level', 'negative', 'bad value', () => -1, 'quarantine'), cv('stock_level', 'int4 min', 'huge number', () => -2147483648, 'quarantine'),
    cv('stock_level', 'zero', 'odd but valid', () => 0, 'load'), cv('stock_level', 'int4 max', 'huge number', () => 2147483647, 'load'),
  ],
  reviews: [
    ...idVariants('review_id', true), ...idVariants('product_id', false), ...idVariants('user_id', false), ...textVariants('review_text'), ...timeVariants('updated_at'),
    ...[0, 6, -1, 32767, -32768].map((n) => cv('rating', String(n), n > 100 || n < -100 ? 'huge number' : 'bad value', () => n, 'quarantine')),
    cv('created_at', 'year 24', 'bad date', () => '0024-03-01 00:00:00+00', 'either', { date: '0024-03-01' }),
    cv('created_at', 'BC', 'bad date', () => '0044-03-15 00:00:00+00 BC', 'quarantine'),
    cv('created_at', 'year 9999', 'odd but valid', () => FAR, 'load', { date: '9999-12-31' }),
  ],
};

const pad = (n: number) => String(n).padStart(2, '0');

function baseRow(t: CatalogTable, r: Rng, id: string, eraDay: string): Record<string, Cell> {
  const at = `${eraDay} ${pad(r.int(0, 23))}:${pad(r.int(0, 59))}:${pad(r.int(0, 59))}+00`;
  switch (t) {
    case 'products': return { product_id: id, product_name: `Widget ${r.int(1, 99)}`, category: r.pick(['Tools', 'Toys', 'Books']), price: `${r.int(0, 999)}.${pad(r.int(0, 99))}`, updated_at: at };
    case 'users': return { user_id: id, user_name: `User ${r.int(1, 999)}`, email: `u${r.int(1, 9999)}@example.com`, country: r.pick(['DE', 'FR', 'BR']), signup_date: '2020-05-17', updated_at: at };
    case 'inventory': return { product_id: id, warehouse: `W${r.int(1, 9)}`, stock_level: r.int(0, 500), updated_at: at };
    case 'reviews': return { review_id: id, product_id: `P${r.int(1, 99)}`, user_id: `U${r.int(1, 99)}`, rating: r.int(1, 5), review_text: 'fine', created_at: at, updated_at: at };
  }
}

export interface CatalogFuzzOptions { seed: number; tag: string; bad: number; eraDay: string; validPerBad?: number }

/** Rows for the four tables: every variant once, then random ones, with valid rows between. */
export function fuzzCatalog(o: CatalogFuzzOptions): CatalogRow[] {
  const rng = new Rng(o.seed, 'fuzz/catalog');
  const slots = CATALOG_TABLES.flatMap((t) => VARIANTS[t].map((v) => ({ t, v })));
  const used = new Set<string>();
  const rows: CatalogRow[] = [];
  let n = 0;
  const make = (t: CatalogTable, v: CatalogVariant | null): CatalogRow => {
    const id = `${o.tag}-${t[0]}${++n}`;
    const values = baseRow(t, rng, id, o.eraDay);
    if (v) {
      const value = v.value(rng, id);
      values[v.column] = typeof value === 'string' && value.startsWith('ERA ') ? value.replace('ERA', o.eraDay) : value;
    }
    const key = KEY_COLUMNS[t].map((c) => String(values[c])).join('|');
    const meta = v ? { role: 'bad' as const, family: v.family, kind: `${t}.${v.column}=${v.name}`, expect: v.expect, reason: fieldReason(v.column), ...(v.date ? { date: v.date, dateColumn: v.column } : {}) }
      : { role: 'valid' as const, family: 'valid' as const, kind: 'valid', expect: 'load' as const, reason: fieldReason('*') };
    return { table: t, values, key, window: v?.window ?? 'era', ...meta };
  };
  // A blank key can exist once per table (primary keys): random draws skip the spellings used.
  // A megabyte of text is drawn one time in fifty once covered, as in the JSON sources.
  const taken = (s: (typeof slots)[number]) => s.v.name.startsWith('blank') && KEY_COLUMNS[s.t][0] === s.v.column && used.has(`${s.t}/${s.v.name}`);
  for (let bad = 0; bad < o.bad; bad++) {
    for (let k = rng.int(0, 2 * (o.validPerBad ?? 1)); k > 0; k--) rows.push(make(rng.pick(CATALOG_TABLES), null));
    let slot = slots[bad];
    while (!slot) {
      const s = rng.pick(slots);
      if (!taken(s) && (s.v.name !== '1 MB' || rng.chance(0.02))) slot = s;
    }
    if (slot.v.name.startsWith('blank')) used.add(`${slot.t}/${slot.v.name}`);
    rows.push(make(slot.t, slot.v));
  }
  return rows;
}
