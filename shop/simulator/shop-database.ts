/**
 * Loads the catalogue files into the shop's PostgreSQL database, as the shop's own systems would
 * have written it. COPY into temporary tables, then one set-wise merge per table, in one
 * transaction: products and users keep their latest version (upsert), inventory and reviews are
 * appended. Re-running, or loading an overlapping window, leaves the same rows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { copyRows, type CopyValue } from '../../lib/bulk';
import { readInventory, readProducts, readReviews, readUsers } from '../dataset/catalog-readers';
import { FILES } from '../../contract/layout';

/** Loads versions with since <= updated_at < asOf; both bounds optional (everything). */
export interface LoadShopDatabaseInput { pool: Pool; dataDir: string; since?: Date; asOf?: Date }
export interface LoadShopDatabaseOutput { products: number; users: number; inventory: number; reviews: number }

const BATCH = 20_000;

interface TableSpec { table: keyof LoadShopDatabaseOutput; file: string; optional: boolean; columns: string[]; merge: string }

const TABLES: TableSpec[] = [
  {
    table: 'products', file: FILES.products, optional: false, columns: ['product_id', 'product_name', 'category', 'price', 'updated_at'],
    merge: `insert into products select distinct on (product_id) * from _load order by product_id, updated_at desc
      on conflict (product_id) do update set product_name = excluded.product_name, category = excluded.category,
        price = excluded.price, updated_at = excluded.updated_at where products.updated_at < excluded.updated_at`,
  },
  {
    table: 'users', file: FILES.users, optional: false, columns: ['user_id', 'user_name', 'email', 'country', 'signup_date', 'updated_at'],
    merge: `insert into users select distinct on (user_id) * from _load order by user_id, updated_at desc
      on conflict (user_id) do update set user_name = excluded.user_name, email = excluded.email, country = excluded.country,
        signup_date = excluded.signup_date, updated_at = excluded.updated_at where users.updated_at < excluded.updated_at`,
  },
  {
    table: 'inventory', file: FILES.inventory, optional: true, columns: ['product_id', 'warehouse', 'stock_level', 'updated_at'],
    merge: 'insert into inventory select * from _load on conflict do nothing',
  },
  {
    table: 'reviews', file: FILES.reviews, optional: true, columns: ['review_id', 'product_id', 'user_id', 'rating', 'review_text', 'created_at', 'updated_at'],
    merge: 'insert into reviews select * from _load on conflict do nothing',
  },
];

async function* rowsOf(spec: TableSpec, dir: string): AsyncGenerator<{ at: Date; values: CopyValue[] }> {
  switch (spec.table) {
    case 'products':
      for await (const r of readProducts(dir)) yield { at: r.updated_at, values: [r.product_id, r.product_name, r.category, r.price, r.updated_at] };
      return;
    case 'users':
      for await (const r of readUsers(dir)) yield { at: r.updated_at, values: [r.user_id, r.user_name, r.email, r.country, r.signup_date, r.updated_at] };
      return;
    case 'inventory':
      for await (const r of readInventory(dir)) yield { at: r.updated_at, values: [r.product_id, r.warehouse, r.stock_level, r.updated_at] };
      return;
    case 'reviews':
      // A review is never edited in this layout, so its updated_at is its created_at.
      for await (const r of readReviews(dir)) yield { at: r.created_at, values: [r.review_id, r.product_id, r.user_id, r.rating, r.review_text, r.created_at, r.created_at] };
      return;
  }
}

async function loadTable(client: PoolClient, spec: TableSpec, i: LoadShopDatabaseInput): Promise<number> {
  if (spec.optional && !existsSync(join(i.dataDir, spec.file))) return 0;
  await client.query(`create temp table _load (like ${spec.table}) on commit drop`);
  const lo = i.since?.getTime() ?? -Infinity;
  const hi = i.asOf?.getTime() ?? Infinity;
  let batch: CopyValue[][] = [];
  for await (const r of rowsOf(spec, i.dataDir)) {
    const t = r.at.getTime();
    if (t < lo || t >= hi) continue;
    batch.push(r.values);
    if (batch.length >= BATCH) {
      await copyRows(client, '_load', spec.columns, batch);
      batch = [];
    }
  }
  if (batch.length) await copyRows(client, '_load', spec.columns, batch);
  const res = await client.query(spec.merge);
  await client.query('drop table _load');
  return res.rowCount ?? 0;
}

/** Empties the shop tables, so a different dataset does not mix with the one served before. */
export async function resetShopDatabase(pool: Pool): Promise<void> {
  await pool.query('truncate products, users, inventory, reviews');
}

/** Returns rows inserted or updated per table (0 everywhere on a repeated load). */
export async function loadShopDatabase(input: LoadShopDatabaseInput): Promise<LoadShopDatabaseOutput> {
  const client = await input.pool.connect();
  const out: LoadShopDatabaseOutput = { products: 0, users: 0, inventory: 0, reviews: 0 };
  try {
    await client.query('begin');
    for (const spec of TABLES) out[spec.table] = await loadTable(client, spec, input);
    await client.query('commit');
    return out;
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
}
