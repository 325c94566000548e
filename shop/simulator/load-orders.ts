/**
 * Reads orders.jsonl into the API's index through the dataset's validating reader. Every line is
 * a version and is kept as written, planted duplicates included.
 */
import { readOrders } from '../dataset/read-sources';
import { parseDate } from '../../contract/rules';
import { OrdersIndex } from './orders-index';

export async function loadOrdersIndex(dataDir: string, index = new OrdersIndex()): Promise<OrdersIndex> {
  for await (const { text, order } of readOrders(dataDir)) {
    // readOrders has checked updated_at and order_id, so both are present and parse.
    const at = parseDate(order.updated_at) as Date;
    index.add(at.getTime(), String(order.order_id), text.trim());
  }
  return index;
}
