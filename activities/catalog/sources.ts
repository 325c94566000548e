/**
 * The four shop-database sources of the catalog pipeline: how each is read (keyset on updated_at
 * and its primary key, every value as text so nothing is rounded on the way), how a row is
 * validated (zod, the dataset rules), and which staging columns it fills.
 */
import { z } from 'zod';
import { parseDate, parsePrice } from '../../contract/rules';

export const CATALOG_SOURCES = ['products', 'users', 'inventory', 'reviews'] as const;
export type CatalogSource = (typeof CATALOG_SOURCES)[number];

// to_char drops the era: a BC time keeps a " BC" suffix, so it is no ISO 8601 date and is quarantined, never read as AD.
const iso = (col: string) =>
  `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || case when ${col} at time zone 'UTC' < '0001-01-01' then ' BC' else '' end as ${col}`;
const show = (v: unknown) => JSON.stringify(v) ?? 'undefined';
const custom = (ctx: z.RefinementCtx, message: string) => (ctx.addIssue({ code: 'custom', message }), z.NEVER);

const id = z.string({ error: 'is missing' }).refine((v) => v.trim() !== '', 'is blank');
const text = z.string().nullable();
const instant = z.unknown().transform((v, ctx) => parseDate(v)?.toISOString() ?? custom(ctx, `${show(v)} is not an ISO 8601 date-time`));
const day = z.string().nullable().transform((v, ctx) => (v === null ? null : parseDate(v)?.toISOString().slice(0, 10) ?? custom(ctx, `${show(v)} is not a date`)));
const price = z.string().nullable().transform((v, ctx) => (v === null ? null : parsePrice(v) ?? custom(ctx, `${show(v)} is not a non-negative decimal`)));
const integer = (min: number, max: number) => z.unknown().transform((v, ctx) => {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : custom(ctx, `${show(v)} is not an integer in ${min}..${max}`);
});

export interface CatalogSourceSpec {
  source: CatalogSource;
  /** Select list (text values) and table in the shop database. */
  select: string;
  table: string;
  /** Keyset order: updated_at, then the primary key; all of them are in the select list. */
  keys: string[];
  /** Its text columns, the ones that can be large: a chunk's byte bound counts them. */
  text: string[];
  schema: z.ZodType<Record<string, unknown>>;
  /** Staging table and its columns, in the order `values` returns them (load_id is appended). */
  staging: string;
  columns: string[];
}

export const CATALOG_SPECS: Record<CatalogSource, CatalogSourceSpec> = {
  products: {
    source: 'products', table: 'products', keys: ['updated_at', 'product_id'], text: ['product_id', 'product_name', 'category'],
    select: `product_id, product_name, category, price::text as price, ${iso('updated_at')}`,
    schema: z.object({ product_id: id, product_name: text, category: text, price, updated_at: instant }),
    staging: 'staging.products', columns: ['product_id', 'updated_at', 'product_name', 'category', 'price'],
  },
  users: {
    source: 'users', table: 'users', keys: ['updated_at', 'user_id'], text: ['user_id', 'user_name', 'email', 'country'],
    select: `user_id, user_name, email, country, signup_date::text as signup_date, ${iso('updated_at')}`,
    schema: z.object({ user_id: id, user_name: text, email: text, country: text, signup_date: day, updated_at: instant }),
    staging: 'staging.users', columns: ['user_id', 'updated_at', 'user_name', 'email', 'country', 'signup_date'],
  },
  inventory: {
    source: 'inventory', table: 'inventory', keys: ['updated_at', 'product_id', 'warehouse'], text: ['product_id', 'warehouse'],
    select: `product_id, warehouse, stock_level::text as stock_level, ${iso('updated_at')}`,
    schema: z.object({ product_id: id, warehouse: id, stock_level: integer(0, 2 ** 31 - 1), updated_at: instant }),
    staging: 'staging.inventory', columns: ['product_id', 'warehouse', 'updated_at', 'stock_level'],
  },
  reviews: {
    source: 'reviews', table: 'reviews', keys: ['updated_at', 'review_id'], text: ['review_id', 'product_id', 'user_id', 'review_text'],
    select: `review_id, product_id, user_id, rating::text as rating, review_text, ${iso('created_at')}, ${iso('updated_at')}`,
    schema: z.object({ review_id: id, product_id: id, user_id: id, rating: integer(1, 5), review_text: text, created_at: instant, updated_at: instant }),
    staging: 'staging.reviews', columns: ['review_id', 'product_id', 'user_id', 'rating', 'review_text', 'created_at'],
  },
};

/**
 * One keyset chunk: [start, end) by updated_at, strictly after the previous chunk's last key, at most
 * $3 rows and about $4 bytes: the rows before the one that passes $4, and that one, so a chunk always
 * moves on and a window of megabyte rows is read a few at a time. A row's bytes are its text
 * columns' octet_length (read from the TOAST header, never detoasted) plus 64 for the rest, so rows
 * past the bound cost nothing to measure.
 * $1 start, $2 end, $3 rows, $4 bytes, then the previous keys ($5 = updated_at as text, ...).
 * Each row comes with `chunk_bytes_`, the running byte count (CHUNK_COLUMNS; the caller drops them).
 */
export function chunkSql(spec: CatalogSourceSpec, first: boolean): string {
  // Qualified names: the select list shadows updated_at with its text form, ORDER BY must not sort that.
  const keys = spec.keys.map((k) => `t.${k}`).join(', ');
  const after = first ? '' : `and (${keys}) > (${spec.keys.map((k, i) => (k === 'updated_at' ? `$${i + 5}::timestamptz` : `$${i + 5}`)).join(', ')})`;
  const bytes = ['64', ...spec.text.map((c) => `coalesce(octet_length(t.${c}), 0)`)].join(' + ');
  return `select * from (
      select ${spec.select}, row_number() over w as chunk_row_, sum(${bytes}) over w as chunk_bytes_, ${bytes} as row_bytes_
      from ${spec.table} t
      where t.updated_at >= $1 and t.updated_at < $2 ${after}
      window w as (order by ${keys} rows unbounded preceding)
      order by ${keys} limit $3
    ) c where chunk_bytes_ - row_bytes_ < $4 order by chunk_row_`;
}

/** The bookkeeping columns chunkSql adds to each row. */
export const CHUNK_COLUMNS = ['chunk_row_', 'chunk_bytes_', 'row_bytes_'] as const;

export function validateRow(spec: CatalogSourceSpec, row: Record<string, unknown>): { ok: true; values: unknown[] } | { ok: false; reason: string } {
  const r = spec.schema.safeParse(row);
  if (!r.success) return { ok: false, reason: r.error.issues.map((i) => `${i.path.join('.') || 'record'}: ${i.message}`).join('; ') };
  return { ok: true, values: spec.columns.map((c) => r.data[c]) };
}
