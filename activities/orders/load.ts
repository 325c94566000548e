/**
 * One page of order versions into staging, as one idempotent load: quarantine the invalid ones,
 * merge the rest into staging.orders (a repeated (order_id, updated_at) is a duplicate), then merge
 * the lines of the versions this load inserted, and on the last page of a scheduled run move the
 * live cursor, all in runLoad's transaction.
 */
import type { Pool, PoolClient } from 'pg';
import { copyRows, mergeRows, type CopyValue } from '../../lib/bulk';
import type { LoadSummary } from '../../contract/pipeline';
import { advanceCursor, type CursorAdvance } from '../common/cursors';
import { runLoad } from '../common/loads';
import { parseOrderVersions } from './validation';
import { quarantineRecords } from '../common/quarantine';
import type { Lake } from '../common/raw';

export const ORDERS_SOURCE = 'orders_api';
const ORDER_COLUMNS = ['order_id', 'updated_at', 'user_id', 'status', 'created_at', 'load_id'];
const LINE_COLUMNS = ['order_id', 'updated_at', 'line_no', 'product_id', 'quantity', 'unit_price', 'load_id'];

export interface OrdersPageLoad {
  loadId: string;
  /** UTC date of the partition start: the lake partition of the raw and quarantine objects. */
  dt: string;
  partitionStart: string;
  partitionEnd: string;
  page: number;
  /** sha256 of the page body as received, recorded in etl.loads.detail (see pageLoadId). */
  sha256: string;
  data: readonly unknown[];
  /** Set on the last page of a scheduled (non-backfill) run: see liveCursor. */
  cursor?: CursorAdvance;
}

/** The live cursor a page load moves: only the last page of a scheduled run, to the window end. */
export function liveCursor(input: { backfill?: boolean; partitionEnd: string }, lastPage: boolean): CursorAdvance | undefined {
  if (input.backfill || !lastPage) return undefined;
  return { pipeline: 'orders', source: ORDERS_SOURCE, column: 'updated_at', value: new Date(input.partitionEnd).toISOString() };
}

/**
 * The load id of a page: `<workflowId>/orders/page-<n>`, unless that load succeeded with a different
 * body (the window changed upstream since, e.g. late versions shifted the pages). Then the page is
 * loaded again as `.../page-<n>/changed-<sha>`: the merge counts what was staged as duplicates and
 * adds what is new, where skipping by id alone would silently miss it.
 */
export async function pageLoadId(pool: Pool, base: string, sha256: string): Promise<string> {
  const { rows } = await pool.query<{ sha256: string | null }>("select detail->>'sha256' as sha256 from etl.loads where load_id = $1 and status = 'succeeded'", [base]);
  const prior = rows[0];
  return !prior || prior.sha256 === sha256 ? base : `${base}/changed-${sha256.slice(0, 16)}`;
}

/**
 * Merges the versions and returns the keys it inserted, so that only their lines are merged: a
 * duplicate's lines never are. (Selecting them back by load_id would scan staging.orders, which
 * has no index on load_id, once per page.)
 */
async function mergeOrders(client: PoolClient, rows: CopyValue[][]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const cols = ORDER_COLUMNS.join(', ');
  await client.query('create temp table _orders_in (like staging.orders including defaults) on commit drop');
  await copyRows(client, '_orders_in', ORDER_COLUMNS, rows);
  const res = await client.query<{ order_id: string; updated_at: Date }>(
    `insert into staging.orders (${cols}) select ${cols} from _orders_in on conflict do nothing returning order_id, updated_at`,
  );
  await client.query('drop table _orders_in');
  return new Set(res.rows.map((r) => versionKey(r.order_id, r.updated_at.toISOString())));
}

const versionKey = (orderId: string, updatedAt: string) => `${orderId}\u0000${updatedAt}`;

export async function loadOrdersPage(pool: Pool, lake: Lake, p: OrdersPageLoad): Promise<LoadSummary> {
  const meta = { loadId: p.loadId, pipeline: 'orders', source: ORDERS_SOURCE, partitionStart: p.partitionStart, partitionEnd: p.partitionEnd };
  return runLoad(pool, meta, async (client) => {
    const parsed = parseOrderVersions(p.data, `page-${p.page}`);
    await quarantineRecords(client, lake, { source: 'orders', dt: p.dt, loadId: p.loadId }, parsed.rejected);
    const inserted = await mergeOrders(client, parsed.orders.map((o) => [o.order_id, o.updated_at, o.user_id, o.status, o.created_at, p.loadId]));
    const lines = await mergeRows(client, 'staging.order_lines', LINE_COLUMNS, parsed.lines
      .filter((l) => inserted.has(versionKey(l.order_id, l.updated_at)))
      .map((l) => [l.order_id, l.updated_at, l.line_no, l.product_id, l.quantity, l.unit_price, p.loadId]));
    const loaded = inserted.size;
    if (p.cursor) await advanceCursor(client, p.cursor);
    return {
      received: p.data.length,
      loaded,
      quarantined: parsed.rejected.length,
      duplicates: parsed.orders.length - loaded,
      detail: { page: p.page, lines, sha256: p.sha256 },
    };
  });
}
