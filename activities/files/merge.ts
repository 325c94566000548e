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
import { copyRows, copySuffix, CopyText, inSavepoint } from '../../lib/bulk';

export const PURCHASE_STAGING_COLUMNS = [
  'order_id', 'product_id', 'customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total',
  'total_mismatch', 'extra', 'source_file', 'source_line', 'load_id', 'file_modified_at',
];

/** The columns every line of one file shares: the last three of each COPY row. */
const FILE_COLUMNS = ['source_file', 'load_id', 'file_modified_at'];

/** The columns a line's COPY row carries (purchaseRow), in its order: the line's own, then the file's. */
export const PURCHASE_COPY_COLUMNS = [...PURCHASE_STAGING_COLUMNS.filter((c) => !FILE_COLUMNS.includes(c)), ...FILE_COLUMNS];

/** What every line of one file shares (the last values of each line's COPY row). */
export interface PurchaseFileColumns { sourceFile: string; loadId: string; fileModifiedAt: string | null }

/** A batch of one file's COPY rows: each line's values (purchaseRow), its file's encoded once and added to every line. */
export const purchaseRows = (file: PurchaseFileColumns): CopyText => new CopyText(copySuffix([file.sourceFile, file.loadId, file.fileModifiedAt]));

const CONTENT = ['customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'extra'];
const UPDATED = [...CONTENT, 'source_file', 'source_line', 'load_id', 'file_modified_at'];

let temp = 0;

/** A temp table for one batch of COPY rows, typed as staging.purchases' columns (no constraints: the merge checks). */
export async function createPurchaseBatchTable(client: PoolClient, name: string): Promise<void> {
  await client.query(`create temp table ${name} on commit drop as select ${PURCHASE_COPY_COLUMNS.join(', ')} from staging.purchases with no data`);
}

export interface PurchaseMerge { inserted: number; updated: number; direct: boolean }

/**
 * Merges one batch of one file's lines; must run inside the load's transaction.
 *
 * `direct`: the caller knows no key repeats within the batch, so the rows are first COPYed straight
 * into staging.purchases, in a savepoint: a batch of keys never seen before (a new day's export)
 * needs no temporary table, sort or upsert, and costs what storing the rows costs (issue 12 P1,
 * docs/ingestion.md). A key already stored, by an earlier file or an earlier batch of this one,
 * fails the COPY on the primary key (23505); the savepoint is rolled back and the batch merged
 * through the corrections policy as if the COPY had never run. A key that another load holds
 * uncommitted makes the COPY wait for it, as the upsert's insert would; a deadlock with that load
 * (the COPY inserts in file order) falls back the same way. `direct` in the result says which way
 * the batch went.
 */
export async function mergePurchases(client: PoolClient, rows: CopyText, opts: { direct?: boolean } = {}): Promise<PurchaseMerge> {
  if (rows.rows === 0) return { inserted: 0, updated: 0, direct: false };
  const text = rows.take();
  // 23505: a key is stored. 40P01: a deadlock with a load inserting the same new keys in another
  // order (the COPY goes in file order; the upsert below in key order, as before).
  if (opts.direct && await inSavepoint(client, 'purchases_direct', ['23505', '40P01'], () => copyRows(client, 'staging.purchases', PURCHASE_COPY_COLUMNS, text))) {
    return { inserted: rows.rows, updated: 0, direct: true };
  }
  const tmp = `_purchases_${process.pid}_${++temp}`;
  const cols = PURCHASE_STAGING_COLUMNS.join(', ');
  await createPurchaseBatchTable(client, tmp);
  await copyRows(client, tmp, PURCHASE_COPY_COLUMNS, text);
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
  return { inserted: Number(r?.inserted ?? 0), updated: Number(r?.updated ?? 0), direct: false };
}
