/**
 * Dev/test-only stand-in for the ingestion pipelines: loads a generated dataset folder into the
 * staging tables exactly as their contract says (typed, text as received, one row per natural key,
 * invalid records left out), with every id prefixed so concurrent test runs never share a row.
 * TODO(issue 5): switch the transform tests to the real orders/catalog/files/events workflows once
 * all four are in; until then this is what feeds staging.
 */
import type { Pool } from 'pg';
import { mergeRows, type CopyValue } from '../../lib/bulk';
import { openDataset, parseDate, readEvents, readInventory, readOrders, readProducts, readPurchaseFile, readUsers } from '../../shop/dataset';

export interface SeedCounts { products: number; users: number; inventory: number; orders: number; orderLines: number; events: number; purchases: number }

export async function seedStaging(staging: Pool, dir: string, prefix: string, loadId: string): Promise<SeedCounts> {
  const p = (id: unknown) => (id === null || id === undefined ? null : `${prefix}${String(id).trim()}`);
  const rows: Record<string, CopyValue[][]> = { products: [], users: [], inventory: [], orders: [], order_lines: [], events: [], purchases: [] };
  for await (const r of readProducts(dir)) rows.products!.push([p(r.product_id), r.updated_at, r.product_name, r.category, r.price, loadId]);
  for await (const r of readUsers(dir)) rows.users!.push([p(r.user_id), r.updated_at, r.user_name, r.email, r.country, r.signup_date, loadId]);
  for await (const r of readInventory(dir)) rows.inventory!.push([p(r.product_id), r.warehouse, r.updated_at, r.stock_level, loadId]);
  for await (const { order } of readOrders(dir)) {
    const updated = parseDate(order.updated_at);
    rows.orders!.push([p(order.order_id), updated, p(order.user_id), order.status as string, parseDate(order.created_at), loadId]);
    (order.lines as Array<Record<string, unknown>>).forEach((l, i) =>
      rows.order_lines!.push([p(order.order_id), updated, i + 1, p(l.product_id), Number(l.quantity), String(l.unit_price), loadId]));
  }
  for await (const { line, check } of readEvents(dir)) {
    if (!check.ok) continue;
    const e = check.value;
    rows.events!.push([p(e.eventId), e.eventName, p(e.userId), p(e.sessionId), p(e.productId), p(e.orderId), e.price, e.ts, 0, line, loadId]);
  }
  for (const file of openDataset(dir).purchases) {
    for await (const { line, check } of readPurchaseFile(dir, file)) {
      if (!check.ok) continue;
      const v = check.value;
      rows.purchases!.push([p(v.orderId), p(v.productId), p(v.customerId), v.orderDate.toISOString().slice(0, 10), v.productName, v.quantity, v.price, null, v.totalMismatch, file.path, line, loadId]);
    }
  }
  const client = await staging.connect();
  const n: Record<string, number> = {};
  try {
    await client.query('begin');
    n.products = await mergeRows(client, 'staging.products', ['product_id', 'updated_at', 'product_name', 'category', 'price', 'load_id'], rows.products!);
    n.users = await mergeRows(client, 'staging.users', ['user_id', 'updated_at', 'user_name', 'email', 'country', 'signup_date', 'load_id'], rows.users!);
    n.inventory = await mergeRows(client, 'staging.inventory', ['product_id', 'warehouse', 'updated_at', 'stock_level', 'load_id'], rows.inventory!);
    n.orders = await mergeRows(client, 'staging.orders', ['order_id', 'updated_at', 'user_id', 'status', 'created_at', 'load_id'], rows.orders!);
    n.orderLines = await mergeRows(client, 'staging.order_lines', ['order_id', 'updated_at', 'line_no', 'product_id', 'quantity', 'unit_price', 'load_id'], rows.order_lines!);
    n.events = await mergeRows(client, 'staging.events', ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'order_id', 'price', 'ts', 'kafka_partition', 'kafka_offset', 'load_id'], rows.events!);
    n.purchases = await mergeRows(client, 'staging.purchases', ['order_id', 'product_id', 'customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'source_file', 'source_line', 'load_id'], rows.purchases!);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback');
    throw err;
  } finally {
    client.release();
  }
  return n as unknown as SeedCounts;
}
