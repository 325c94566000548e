/**
 * Reads orders.jsonl into the API's index. Every line is a version and is kept as written, planted
 * duplicates included; a line the API cannot place in time (no order_id, unparseable updated_at)
 * breaks the layout and is reported with its line number.
 */
import { join } from 'node:path';
import { FILES } from '../dataset/layout';
import { parseDate, isMissing } from '../dataset/rules';
import { DatasetError } from './dataset-error';
import { readLines } from './lines';
import { OrdersIndex } from './orders-index';

/** Parses one orders.jsonl line far enough to index it; throws DatasetError naming the field. */
export function orderKey(raw: string, file: string, n: number): { ms: number; orderId: string } {
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    throw new DatasetError(file, n, null, 'not valid JSON; each line must be one order version object');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new DatasetError(file, n, null, 'not a JSON object');
  const r = o as Record<string, unknown>;
  if (isMissing(r.order_id)) throw new DatasetError(file, n, 'order_id', 'order_id is missing');
  const at = parseDate(r.updated_at);
  if (!at) throw new DatasetError(file, n, 'updated_at', `updated_at ${JSON.stringify(r.updated_at)} is not an ISO 8601 date-time`);
  return { ms: at.getTime(), orderId: String(r.order_id) };
}

export async function loadOrdersIndex(dataDir: string, index = new OrdersIndex()): Promise<OrdersIndex> {
  const file = FILES.orders;
  try {
    for await (const { line, n } of readLines(join(dataDir, file))) {
      const raw = line.trim();
      if (raw === '') continue;
      const k = orderKey(raw, file, n);
      index.add(k.ms, k.orderId, raw);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DatasetError(file, null, null, `required file missing in ${dataDir}`);
    throw err;
  }
  return index;
}
