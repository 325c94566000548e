/**
 * The dataset folder layout of MISSION.md, "Dataset layout". A public contract: the generator writes
 * it, the simulator serves it and users bring their own exports in it. Change it only compatibly.
 */

export const PRODUCTS_COLUMNS = ['product_id', 'product_name', 'category', 'price', 'updated_at'] as const;
export const USERS_COLUMNS = ['user_id', 'user_name', 'email', 'country', 'signup_date', 'updated_at'] as const;
export const INVENTORY_COLUMNS = ['product_id', 'warehouse', 'stock_level', 'updated_at'] as const;
export const REVIEWS_COLUMNS = ['review_id', 'product_id', 'user_id', 'rating', 'review_text', 'created_at'] as const;
export const PURCHASE_COLUMNS = ['CustomerID', 'OrderID', 'OrderDate', 'ProductID', 'ProductName', 'Quantity', 'Price', 'Total'] as const;

/** Header names that real exports have used for a purchase field; the key is the canonical name. */
export const PURCHASE_ALIASES: Readonly<Record<string, string>> = { Qty: 'Quantity' };

export const EVENT_NAMES = ['view', 'add_to_cart', 'wishlist', 'order', 'return'] as const;
export type EventName = (typeof EVENT_NAMES)[number];
export const ORDER_STATUSES = ['placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Relative paths inside a dataset folder. */
export const FILES = {
  products: 'products.csv',
  users: 'users.csv',
  inventory: 'inventory.csv',
  reviews: 'reviews.csv',
  orders: 'orders.jsonl',
  events: 'events.jsonl',
  purchases: 'purchases',
  manifest: 'manifest.json',
} as const;

export const REQUIRED_FILES = [FILES.products, FILES.users, FILES.orders, FILES.events] as const;

/**
 * A purchase file may have any name (`customer_purchases.csv` is the shop's own); only the
 * extension says its format, optionally gzip-compressed. Its date comes from its content, never
 * from its name.
 */
export type PurchaseFormat = 'csv' | 'jsonl';
export interface PurchaseFileKind { format: PurchaseFormat; gzip: boolean }
export const PURCHASE_EXTENSIONS = ['.csv', '.jsonl', '.ndjson', '.csv.gz', '.jsonl.gz', '.ndjson.gz'] as const;

/** The format of a purchase file by its name (case-insensitive), or null when it is not one. */
export function purchaseFileKind(name: string): PurchaseFileKind | null {
  const lower = name.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const base = gzip ? lower.slice(0, -3) : lower;
  // Hidden files (".DS_Store", macOS "._x.csv" resource forks) are not exports, whatever they end in.
  if (base.startsWith('.', base.lastIndexOf('/') + 1)) return null;
  if (base.endsWith('.csv')) return { format: 'csv', gzip };
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) return { format: 'jsonl', gzip };
  return null;
}

/** The name the generator gives a day's file; any other name is as valid. */
export function purchaseFileName(date: string, ext: PurchaseFormat): string {
  return `purchases_${date}.${ext}`;
}

export interface OrderLine { product_id: string; quantity: number; unit_price: string }

/** One line of orders.jsonl: one version of an order. Key order is the file's key order. */
export interface OrderVersion {
  order_id: string;
  user_id: string;
  status: OrderStatus;
  created_at: string;
  updated_at: string;
  lines: OrderLine[];
}

/** One line of events.jsonl. `order_id` and `price` may be null for any event name (the generator sets them where one applies). */
export interface ShopEvent {
  event_id: string;
  event_name: EventName;
  user_id: string;
  session_id: string;
  product_id: string;
  order_id: string | null;
  price: string | null;
  ts: string;
}
