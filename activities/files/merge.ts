/**
 * How purchase lines merge into staging.purchases: the corrections policy (docs/ingestion.md,
 * "files: corrections"). A purchase line is keyed by OrderID + ProductID.
 * - Within one file the first line of a key wins; later ones are duplicates.
 * - A line from a file not older than the stored line's (S3 LastModified; it has one-second
 *   resolution, so within the same second the file loaded later wins) with different content
 *   replaces the stored line: counted as `updated` (and as loaded). That is how a shop's re-export
 *   with corrections, dropped again under the same or another name, takes effect.
 * - The same content again, or a line from an older file, is a duplicate.
 * An updated row gets a new ingested_at, so the next transform picks it up (and rebuilds both its
 * old and new order dates).
 */
import type { PoolClient } from 'pg';
import { copyRows, type CopyText } from '../../lib/bulk';

export const PURCHASE_STAGING_COLUMNS = [
  'order_id', 'product_id', 'customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total',
  'total_mismatch', 'extra', 'source_file', 'source_line', 'load_id', 'file_modified_at',
];

const CONTENT = ['customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'extra'];
const UPDATED = [...CONTENT, 'source_file', 'source_line', 'load_id', 'file_modified_at'];

let temp = 0;

/** Merges one batch; must run inside the load's transaction. */
export async function mergePurchases(client: PoolClient, rows: CopyText): Promise<{ inserted: number; updated: number }> {
  if (rows.rows === 0) return { inserted: 0, updated: 0 };
  const tmp = `_purchases_${process.pid}_${++temp}`;
  const cols = PURCHASE_STAGING_COLUMNS.join(', ');
  await client.query(`create temp table ${tmp} (like staging.purchases including defaults) on commit drop`);
  await copyRows(client, tmp, PURCHASE_STAGING_COLUMNS, rows);
  const { rows: [r] } = await client.query<{ inserted: string; updated: string }>(
    `with merged as (
       insert into staging.purchases as p (${cols})
       select distinct on (order_id, product_id) ${cols} from ${tmp} order by order_id, product_id, source_line
       on conflict (order_id, product_id) do update set ${UPDATED.map((c) => `${c} = excluded.${c}`).join(', ')}, ingested_at = now()
       where p.load_id <> excluded.load_id
         and excluded.file_modified_at >= coalesce(p.file_modified_at, '-infinity')
         and (${CONTENT.map((c) => `p.${c}`).join(', ')}) is distinct from (${CONTENT.map((c) => `excluded.${c}`).join(', ')})
       returning (xmax = 0) as fresh
     )
     select count(*) filter (where fresh) as inserted, count(*) filter (where not fresh) as updated from merged`,
  );
  await client.query(`drop table ${tmp}`);
  return { inserted: Number(r?.inserted ?? 0), updated: Number(r?.updated ?? 0) };
}
