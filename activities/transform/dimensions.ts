/**
 * Dimension upserts after products or users arrive: each touched id takes its latest version by
 * updated_at, with a missing name, category or country carried forward from the newest version that
 * had one (the only fill rule; otherwise 'Uncategorised' / 'unknown'). Inferred rows get replaced.
 */
import type { PoolClient } from 'pg';
import type { TransformSource } from './sources';

const LAST_KNOWN = (table: string, key: string, col: string, alias: string) =>
  `(select q.${col} from ${table} q where q.${key} = ${alias}.${key} and q.${col} is not null order by q.updated_at desc limit 1)`;

const PRODUCTS = `
  insert into dim_product (product_id, product_name, category, category_key, price, updated_at, inferred)
  select product_id, product_name, coalesce(category, 'Uncategorised'), lower(coalesce(category, 'Uncategorised')), price, updated_at, false
  from (
    select distinct on (p.product_id) p.product_id, p.updated_at,
           ${LAST_KNOWN('work.products', 'product_id', 'product_name', 'p')} as product_name,
           ${LAST_KNOWN('work.products', 'product_id', 'category', 'p')} as category,
           ${LAST_KNOWN('work.products', 'product_id', 'price', 'p')} as price
    from work.products p where p.product_id in (select product_id from _in)
    order by p.product_id, p.updated_at desc
  ) latest
  order by product_id
  on conflict (product_id) do update set product_name = excluded.product_name, category = excluded.category,
    category_key = excluded.category_key, price = excluded.price, updated_at = excluded.updated_at, inferred = false`;

const USERS = `
  insert into dim_customer (customer_id, user_name, country, signup_date, updated_at, inferred)
  select customer_id, user_name, coalesce(country, 'unknown'), signup_date, updated_at, false
  from (
    select distinct on (u.customer_id) u.customer_id, u.updated_at,
           ${LAST_KNOWN('work.users', 'customer_id', 'user_name', 'u')} as user_name,
           ${LAST_KNOWN('work.users', 'customer_id', 'country', 'u')} as country,
           ${LAST_KNOWN('work.users', 'customer_id', 'signup_date', 'u')} as signup_date
    from work.users u where u.customer_id in (select customer_id from _in)
    order by u.customer_id, u.updated_at desc
  ) latest
  order by customer_id
  on conflict (customer_id) do update set user_name = excluded.user_name, country = excluded.country,
    signup_date = excluded.signup_date, updated_at = excluded.updated_at, inferred = false`;

/** Runs in the extract's transaction, over its `_in` temp table. */
export async function upsertDimensions(client: PoolClient, source: TransformSource): Promise<void> {
  if (source === 'products') await client.query(PRODUCTS);
  if (source === 'users') await client.query(USERS);
}
