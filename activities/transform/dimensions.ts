/**
 * Dimension upserts after products or users arrive: each touched id takes its latest version by
 * updated_at, with a missing name, category or country carried forward from the newest version that
 * had one (the only fill rule; otherwise 'Uncategorised' / 'unknown'). Inferred rows get replaced.
 */
import type { PoolClient } from 'pg';
import type { TransformSource } from './sources';

const LAST_KNOWN = (table: string, key: string, col: string, alias: string) =>
  `(select q.${col} from ${table} q where q.${key} = ${alias}.${key} and q.${col} is not null order by q.updated_at desc limit 1)`;

/**
 * Upserts `dim` from the latest version in `source` of each id in `_in`, each `carried` column
 * taken from the newest version that had one; `out` maps the dimension's columns to expressions
 * over those.
 */
const upsertLatest = (dim: string, source: string, key: string, carried: string[], out: Record<string, string>) => `
  insert into ${dim} (${key}, ${Object.keys(out).join(', ')}, updated_at, inferred)
  select ${key}, ${Object.values(out).join(', ')}, updated_at, false
  from (
    select distinct on (s.${key}) s.${key}, s.updated_at, ${carried.map((c) => `${LAST_KNOWN(source, key, c, 's')} as ${c}`).join(', ')}
    from ${source} s where s.${key} in (select ${key} from _in)
    order by s.${key}, s.updated_at desc
  ) latest
  order by ${key}
  on conflict (${key}) do update set ${[...Object.keys(out), 'updated_at'].map((c) => `${c} = excluded.${c}`).join(', ')}, inferred = false`;

const PRODUCTS = upsertLatest('dim_product', 'work.products', 'product_id', ['product_name', 'category', 'price'], {
  product_name: 'product_name', category: "coalesce(category, 'Uncategorised')", category_key: "lower(coalesce(category, 'Uncategorised'))", price: 'price',
});

const USERS = upsertLatest('dim_customer', 'work.users', 'customer_id', ['user_name', 'country', 'signup_date'], {
  user_name: 'user_name', country: "coalesce(country, 'unknown')", signup_date: 'signup_date',
});

/** Runs in the extract's transaction, over its `_in` temp table. */
export async function upsertDimensions(client: PoolClient, source: TransformSource): Promise<void> {
  if (source === 'products') await client.query(PRODUCTS);
  if (source === 'users') await client.query(USERS);
}
