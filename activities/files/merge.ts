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

/** The columns every line of a file shares, and the merge parameter each one is taken from. */
const FILE_COLUMNS: Record<string, string> = { source_file: '$1::text', load_id: '$2::text', file_modified_at: '$3::timestamptz' };

export const PURCHASE_STAGING_COLUMNS = [
  'order_id', 'product_id', 'customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total',
  'total_mismatch', 'extra', 'source_file', 'source_line', 'load_id', 'file_modified_at',
];

/** The columns a line's COPY row carries (purchaseRow); the file's own are the same for every line. */
export const PURCHASE_LINE_COLUMNS = PURCHASE_STAGING_COLUMNS.filter((c) => !(c in FILE_COLUMNS));

/** What the merge selects from a batch table, in PURCHASE_STAGING_COLUMNS' order. */
const MERGED_VALUES = PURCHASE_STAGING_COLUMNS.map((c) => FILE_COLUMNS[c] ?? c).join(', ');

/** What every line of one file shares: sent once per merge, not in each COPY row (half a row's bytes). */
export interface PurchaseFileColumns { sourceFile: string; loadId: string; fileModifiedAt: string | null }

const CONTENT = ['customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'extra'];
const UPDATED = [...CONTENT, 'source_file', 'source_line', 'load_id', 'file_modified_at'];

let temp = 0;

/** A temp table for one batch of line rows, typed as staging.purchases' columns (no constraints: the merge checks). */
export async function createPurchaseBatchTable(client: PoolClient, name: string): Promise<void> {
  await client.query(`create temp table ${name} on commit drop as select ${PURCHASE_LINE_COLUMNS.join(', ')} from staging.purchases with no data`);
}

/** Merges one batch of one file's lines; must run inside the load's transaction. */
export async function mergePurchases(client: PoolClient, rows: CopyText, file: PurchaseFileColumns): Promise<{ inserted: number; updated: number }> {
  if (rows.rows === 0) return { inserted: 0, updated: 0 };
  const tmp = `_purchases_${process.pid}_${++temp}`;
  const cols = PURCHASE_STAGING_COLUMNS.join(', ');
  await createPurchaseBatchTable(client, tmp);
  await copyRows(client, tmp, PURCHASE_LINE_COLUMNS, rows);
  const { rows: [r] } = await client.query<{ inserted: string; updated: string }>(
    `with merged as (
       insert into staging.purchases as p (${cols})
       select distinct on (order_id, product_id) ${MERGED_VALUES} from ${tmp} order by order_id, product_id, source_line
       on conflict (order_id, product_id) do update set ${UPDATED.map((c) => `${c} = excluded.${c}`).join(', ')}, ingested_at = now()
       where p.load_id <> excluded.load_id
         and excluded.file_modified_at >= coalesce(p.file_modified_at, '-infinity')
         and (${CONTENT.map((c) => `p.${c}`).join(', ')}) is distinct from (${CONTENT.map((c) => `excluded.${c}`).join(', ')})
       returning (xmax = 0) as fresh
     )
     select count(*) filter (where fresh) as inserted, count(*) filter (where not fresh) as updated from merged`,
    [file.sourceFile, file.loadId, file.fileModifiedAt],
  );
  await client.query(`drop table ${tmp}`);
  return { inserted: Number(r?.inserted ?? 0), updated: Number(r?.updated ?? 0) };
}
