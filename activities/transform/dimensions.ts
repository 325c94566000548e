/**
 * Dimension upserts after products or users arrive (and the stock kept after inventory, afterMerge):
 * each touched id takes its latest version by updated_at, with a missing name, category or country
 * carried forward from the newest version that had one (the only fill rule; otherwise
 * 'Uncategorised' / 'unknown'). Inferred rows get replaced.
 */
import type { PoolClient } from 'pg';
import type { TransformSource } from './sources';

/**
 * The newest non-null value of `col` among an id's versions, as an aggregate: one pass over the
 * versions instead of an index probe per id and column. For 210k customers (10.6k with several
 * versions) the latest-row select took 0.74 s against 1.35 s with a correlated subquery per column,
 * with equal rows (`npx tsx bench/load-statements.ts`): the users extract runs while the events
 * copy needs the cores.
 */
const LAST_KNOWN = (col: string) => `(array_agg(s.${col} order by s.updated_at desc) filter (where s.${col} is not null))[1]`;

/** Each id of `_in`: its latest updated_at in `source`, and each `carried` column's newest non-null value. Exported for bench/load-statements.ts. */
export const latestVersions = (source: string, key: string, carried: string[]) =>
  `select s.${key}, max(s.updated_at) as updated_at, ${carried.map((c) => `${LAST_KNOWN(c)} as ${c}`).join(', ')}
   from ${source} s where s.${key} in (select ${key} from _in)
   group by s.${key}`;

/**
 * Upserts `dim` from the latest version in `source` of each id in `_in`, each `carried` column
 * taken from the newest version that had one; `out` maps the dimension's columns to expressions
 * over those. Never older over newer: a run whose work table does not see a version another run
 * has just written (a backfill beside a scheduled hour) leaves that newer row alone. A version as
 * new as the stored one is written only if it changes a column (a late older version can fill a
 * carried column): a window re-extracted with the same versions rewrote every row before (200,000
 * unchanged customers: 1.38-1.47 s against 0.53-0.80 s, docs/transform.md). A skipped row is
 * still locked by ON CONFLICT, which writes a lock record, not a new version.
 */
const upsertLatest = (dim: string, source: string, key: string, carried: string[], out: Record<string, string>) => {
  const cols = Object.keys(out);
  return `
  insert into ${dim} (${key}, ${cols.join(', ')}, updated_at, inferred)
  select ${key}, ${Object.values(out).join(', ')}, updated_at, false
  from (${latestVersions(source, key, carried)}) latest
  order by ${key}
  on conflict (${key}) do update set ${[...cols, 'updated_at'].map((c) => `${c} = excluded.${c}`).join(', ')}, inferred = false
  where ${dim}.inferred or ${dim}.updated_at is null or excluded.updated_at > ${dim}.updated_at
     or (excluded.updated_at = ${dim}.updated_at
         and (${cols.map((c) => `${dim}.${c}`).join(', ')}) is distinct from (${cols.map((c) => `excluded.${c}`).join(', ')}))`;
};

const PRODUCTS = upsertLatest('dim_product', 'work.products', 'product_id', ['product_name', 'category', 'price'], {
  product_name: 'product_name', category: "coalesce(category, 'Uncategorised')", category_key: "lower(coalesce(category, 'Uncategorised'))", price: 'price',
});

const USERS = upsertLatest('dim_customer', 'work.users', 'customer_id', ['user_name', 'country', 'signup_date'], {
  user_name: 'user_name', country: "coalesce(country, 'unknown')", signup_date: 'signup_date',
});

/**
 * The label each dimension gives the dashboard's daily segments (sql/analytics/064): a product's
 * category, a customer's country. When an upsert changes one, the dates of that id's facts are
 * rebuilt, or those dates would keep the old label (an inferred 'uncategorised' product, a
 * customer's old country) while the panels joining the dimension show the new one.
 */
const RELABEL = {
  products: {
    dim: 'dim_product', key: 'product_id', label: 'category_key',
    dates: 'select order_date from fact_order_line where product_id = any($1)',
  },
  users: {
    dim: 'dim_customer', key: 'customer_id', label: 'country',
    dates: 'select order_date from fact_order_line where customer_id = any($1) union select event_date from fact_event where customer_id = any($1)',
  },
} as const;

/**
 * Runs in the extract's transaction, over its `_in` temp table. Returns the fact dates whose
 * segments a changed category or country relabels (sorted, YYYY-MM-DD).
 */
export async function upsertDimensions(client: PoolClient, source: TransformSource): Promise<string[]> {
  if (source !== 'products' && source !== 'users') return [];
  const r = RELABEL[source];
  await client.query(`create temp table _dim_before on commit drop as select ${r.key}, ${r.label} from ${r.dim} where ${r.key} in (select ${r.key} from _in)`);
  await client.query(source === 'products' ? PRODUCTS : USERS);
  const { rows } = await client.query<{ d: string }>(
    `select to_char(x, 'YYYY-MM-DD') as d from (${r.dates}) t(x) where x is not null order by 1`,
    [(await client.query<{ id: string }>(`select d.${r.key} as id from _dim_before b join ${r.dim} d using (${r.key}) where d.${r.label} is distinct from b.${r.label}`)).rows.map((x) => x.id)],
  );
  await client.query('drop table _dim_before');
  return rows.map((x) => x.d);
}

/**
 * What the extract keeps beside a source's work table, in its transaction after the merge: the
 * dimensions (products, users) and the current and monthly stock the dashboard reads (inventory,
 * sql/analytics/065). Returns the dates a changed label makes stale (upsertDimensions).
 */
export async function afterMerge(client: PoolClient, source: TransformSource, merged: number): Promise<string[]> {
  if (source === 'inventory') {
    if (merged > 0) await client.query('select work.refresh_inventory(array(select distinct product_id from _in where product_id is not null))');
    return [];
  }
  return upsertDimensions(client, source);
}
