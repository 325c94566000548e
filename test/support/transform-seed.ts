/**
 * Dev/test-only stand-in for the ingestion pipelines: loads a generated dataset folder into the
 * staging tables exactly as their contract says (typed, text as received, one row per natural key,
 * invalid records left out), with every id prefixed so concurrent test runs never share a row.
 * test/integration/transform-pipelines.test.ts feeds staging through the real ingestion workflows;
 * the other transform tests and bench/transform-day.ts use this faster loader.
 */
import { inTransaction } from '../../activities/common/transaction';
import type { Pool } from 'pg';
import { mergeRows, type CopyValue } from '../../lib/bulk';
import { openDataset, parseDate, readEvents, readInventory, readOrders, readProducts, readPurchaseFile, readUsers } from '../../shop/dataset';

export interface SeedCounts { products: number; users: number; inventory: number; orders: number; orderLines: number; events: number; purchases: number }

const COLUMNS: Record<string, string[]> = {
  products: ['product_id', 'updated_at', 'product_name', 'category', 'price'],
  users: ['user_id', 'updated_at', 'user_name', 'email', 'country', 'signup_date'],
  inventory: ['product_id', 'warehouse', 'updated_at', 'stock_level'],
  orders: ['order_id', 'updated_at', 'user_id', 'status', 'created_at'],
  order_lines: ['order_id', 'updated_at', 'line_no', 'product_id', 'quantity', 'unit_price'],
  events: ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'order_id', 'price', 'ts', 'kafka_partition', 'kafka_offset'],
  purchases: ['order_id', 'product_id', 'customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'source_file', 'source_line'],
};

/**
 * Loads the folder in one transaction, flushing every 20k rows so any scale fits in memory.
 * `ingestedAt` stamps the rows (default: now), so a benchmark can place its arrival in an hour of its own.
 */
export async function seedStaging(staging: Pool, dir: string, prefix: string, loadId: string, ingestedAt?: Date): Promise<SeedCounts> {
  const p = (id: unknown) => (id === null || id === undefined ? null : `${prefix}${String(id).trim()}`);
  const n: Record<string, number> = {};
  const buf: Record<string, CopyValue[][]> = {};
  await inTransaction(staging, async (client) => {
    const flush = async (table: string) => {
      const rows = buf[table] ?? [];
      buf[table] = [];
      n[table] = (n[table] ?? 0) + (await mergeRows(client, `staging.${table}`, [...COLUMNS[table]!, 'load_id', 'ingested_at'], rows));
    };
    const put = async (table: string, row: CopyValue[]) => {
      (buf[table] ??= []).push([...row, loadId, ingestedAt ?? new Date()]);
      if (buf[table].length >= 20_000) await flush(table);
    };
    for await (const r of readProducts(dir)) await put('products', [p(r.product_id), r.updated_at, r.product_name, r.category, r.price]);
    for await (const r of readUsers(dir)) await put('users', [p(r.user_id), r.updated_at, r.user_name, r.email, r.country, r.signup_date]);
    for await (const r of readInventory(dir)) await put('inventory', [p(r.product_id), r.warehouse, r.updated_at, r.stock_level]);
    for await (const { order } of readOrders(dir)) {
      const updated = parseDate(order.updated_at);
      await put('orders', [p(order.order_id), updated, p(order.user_id), order.status as string, parseDate(order.created_at)]);
      // Lines after their order version: the foreign key needs the parent flushed first.
      if ((buf.orders?.length ?? 0) === 0) await flush('order_lines');
      for (const [i, l] of (order.lines as Array<Record<string, unknown>>).entries()) {
        (buf.order_lines ??= []).push([p(order.order_id), updated, i + 1, p(l.product_id), Number(l.quantity), String(l.unit_price), loadId, ingestedAt ?? new Date()]);
      }
    }
    for await (const { line, check } of readEvents(dir)) {
      if (!check.ok) continue;
      const e = check.value;
      await put('events', [p(e.eventId), e.eventName, p(e.userId), p(e.sessionId), p(e.productId), p(e.orderId), e.price, e.ts, 0, line]);
    }
    for (const file of openDataset(dir).purchases) {
      for await (const { line, check } of readPurchaseFile(dir, file)) {
        if (!check.ok) continue;
        const v = check.value;
        await put('purchases', [p(v.orderId), p(v.productId), p(v.customerId), v.orderDate.toISOString().slice(0, 10), v.productName, v.quantity, v.price, null, v.totalMismatch, file.path, line]);
      }
    }
    for (const t of Object.keys(COLUMNS)) await flush(t);
  });
  return { products: n.products ?? 0, users: n.users ?? 0, inventory: n.inventory ?? 0, orders: n.orders ?? 0, orderLines: n.order_lines ?? 0, events: n.events ?? 0, purchases: n.purchases ?? 0 };
}
