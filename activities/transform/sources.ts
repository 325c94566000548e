/**
 * What the transform reads from each staging source and how it lands in the analytics work layer.
 * A window [from, to) selects rows that ARRIVED in it (ingested_at) or HAPPENED in it (business
 * time), so a scheduled run sees new arrivals and a backfill of an old hour sees that hour's data.
 * A backfill also reads every version of the dimension sources (users, products) up to `to`
 * (dimensionRows below).
 * `userColumn` is replaced by its pseudonym while streaming: raw user ids never reach analytics.
 * `quarantine` lists rules (SQL over the incoming temp table `_in`) a row must pass to be merged.
 */
export interface TransformSourceSpec {
  /** work.<table> the rows merge into; also the temp table's shape. */
  table: string;
  columns: string[];
  /** backfill: a backfill's window (not a scheduled run's); a dimension then reads every version up to `to`. */
  select: (from: string, to: string, backfill?: boolean) => string;
  userColumn?: string;
  /** Cleaning applied on merge: column -> SQL expression over `_in`. */
  clean: Record<string, string>;
  quarantine: Array<{ when: string; reason: string }>;
  /** SQL giving a readable record reference per `_in` row. */
  ref: string;
  /**
   * The work table's primary key, after cleaning. The merge inserts rows in its order: a window's
   * rows then fill the key's index leaf by leaf, not at random. With _changed keeping only `datesFrom`,
   * 931k events with ids in random order (the old statement's worst case) merged in 7.2 s against
   * 9.7–10.4 s (`npx tsx bench/work-merge.ts`, medians of 3, two runs); the generator's ids arrive nearly in order,
   * and there the merge of a busy scale-10 hour took 7.0–7.6 s against 7.9 s (transform-compare's log).
   * test/integration/transform.test.ts checks the key against the catalog.
   */
  key: string[];
  /**
   * SQL over `_in c` (after the merge) listing the order dates the rows affect. Its columns of `_in`
   * are qualified (`c.order_id`): unqualified, one missing from `_changed` would bind to the outer
   * query's column of that name and select every date, without an error.
   */
  dates?: string;
  /** The columns `dates` reads (`c.<column>`): all that the merge keeps of the rows it inserted or corrected (`_changed`). */
  datesFrom?: string[];
  /** The work table's date column, by which the date loads read it (its statistics are checked per date: common/statistics.ts). */
  dateColumn?: string;
  /**
   * A work table partitioned by a date computed from each row (work.events, sql/analytics/073):
   * `column` is filled with `expr` (SQL over `_in`) on merge. A date new to the table gets its
   * partition built from the window's rows, keyed after the insert (extract.ts, mergePartitioned),
   * through the table's SQL functions (of a `date[]` or a `date`): `missing` (the dates without a
   * partition), `lock` (their locks, in order), `create` (a new date's table, its name returned) and
   * `attach` (keyed, analyzed, attached). Its statistics are a partition's own: analyzed when
   * built, kept by autovacuum after.
   */
  partition?: { column: string; expr: string; missing: string; lock: string; create: string; attach: string };
  /**
   * Merge by replacing: a row whose key is stored with other content replaces it (purchase lines
   * corrected by a newer file). Without it, a stored key wins and the newcomer is a duplicate.
   * `order` picks one row per key within the window.
   */
  upsert?: { order: string };
}

const window = (col: string, from: string, to: string) => `(${col} >= '${from}' and ${col} < '${to}')`;
const arrivedOrHappened = (col: string, from: string, to: string, alias = '') => `(${window(`${alias}ingested_at`, from, to)} or ${window(`${alias}${col}`, from, to)})`;
/**
 * A dimension's rows (users, products): in a scheduled run, those that arrived or changed in the
 * window; in a backfill, every version up to the window's end as well. A backfill over a past range
 * after a catalog load ingested now would otherwise see only the users and products updated in that
 * range, and leave every other one inferred ('unknown') until a scheduled hour held their ingestion.
 */
const dimensionRows = (from: string, to: string, backfill?: boolean) =>
  backfill ? `(${window('ingested_at', from, to)} or updated_at < '${to}')` : arrivedOrHappened('updated_at', from, to);

const norm = (c: string) => `work.norm_text(${c})`;

export const TRANSFORM_SPECS = {
  events: {
    table: 'work.events',
    columns: ['event_id', 'event_name', 'customer_id', 'session_id', 'product_id', 'order_id', 'price', 'ts'],
    select: (f, t) => `select event_id, event_name, user_id, session_id, product_id, order_id, price, ts from staging.events where ${arrivedOrHappened('ts', f, t)}`,
    userColumn: 'customer_id',
    clean: { event_name: `lower(${norm('event_name')})`, session_id: norm('session_id'), product_id: norm('product_id'), order_id: norm('order_id') },
    quarantine: [
      { when: `lower(${norm('event_name')}) not in ('view', 'add_to_cart', 'wishlist', 'order', 'return') or event_name is null`, reason: 'event_name is not one of view, add_to_cart, wishlist, order, return' },
      { when: 'customer_id is null', reason: 'user_id is missing' },
      { when: `${norm('session_id')} is null`, reason: 'session_id is missing' },
    ],
    ref: `'event ' || event_id`,
    // One partition per date: event_id is unique within it, and across dates (staging keeps one row per id, and ts is never cleaned).
    key: ['event_date', 'event_id'],
    partition: {
      column: 'event_date', expr: `(ts at time zone 'UTC')::date`,
      missing: 'work.missing_event_partitions', lock: 'work.lock_event_partitions', create: 'work.new_event_partition', attach: 'work.attach_event_partition',
    },
    dates: `select distinct (c.ts at time zone 'UTC')::date from _in c`,
    datesFrom: ['ts'],
  },
  orders: {
    table: 'work.orders',
    columns: ['order_id', 'updated_at', 'customer_id', 'status', 'created_at'],
    select: (f, t) => `select order_id, updated_at, user_id, status, created_at from staging.orders where ${arrivedOrHappened('updated_at', f, t)}`,
    userColumn: 'customer_id',
    clean: { status: `lower(${norm('status')})` },
    quarantine: [
      { when: `lower(${norm('status')}) not in ('placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned') or status is null`, reason: 'status is not a known order status' },
      { when: 'customer_id is null', reason: 'user_id is missing' },
    ],
    ref: `'order ' || order_id || ' @ ' || updated_at`,
    key: ['order_id', 'updated_at'],
    datesFrom: ['order_id'],
    // The order's date now, and the date its facts sit under (it moves if created_at changed).
    dates: `select o.created_date from work.orders o where o.order_id in (select c.order_id from _in c)
            union select f.order_date from fact_order_line f where f.source = 'api' and f.order_id in (select c.order_id from _in c)`,
    dateColumn: 'created_date',
  },
  order_lines: {
    table: 'work.order_lines',
    columns: ['order_id', 'updated_at', 'line_no', 'product_id', 'quantity', 'unit_price'],
    select: (f, t) => `select l.order_id, l.updated_at, l.line_no, l.product_id, l.quantity, l.unit_price
      from staging.order_lines l join staging.orders o using (order_id, updated_at) where ${arrivedOrHappened('updated_at', f, t, 'o.')}`,
    clean: { product_id: norm('product_id') },
    quarantine: [{ when: `${norm('product_id')} is null`, reason: 'product_id is missing' }],
    ref: `'order ' || order_id || ' @ ' || updated_at || ' line ' || line_no`,
    key: ['order_id', 'updated_at', 'line_no'],
    datesFrom: ['order_id'],
    dates: `select o.created_date from work.orders o where o.order_id in (select c.order_id from _in c)`,
  },
  purchases: {
    table: 'work.purchases',
    columns: ['order_id', 'product_id', 'customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'source_file', 'source_line'],
    select: (f, t) => `select order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total_mismatch, source_file, source_line
      from staging.purchases where ${window('ingested_at', f, t)} or (order_date >= '${f}'::timestamptz and order_date < '${t}'::timestamptz)`,
    userColumn: 'customer_id',
    clean: { order_id: norm('order_id'), product_id: norm('product_id'), product_name: norm('product_name') },
    quarantine: [
      { when: 'customer_id is null', reason: 'CustomerID is missing' },
      { when: `${norm('order_id')} is null or ${norm('product_id')} is null`, reason: 'OrderID or ProductID is blank after normalisation' },
    ],
    ref: `source_file || ':' || source_line`,
    // Staging keeps the newest file's version of a line (activities/files/merge.ts); so does work.
    key: ['order_id', 'product_id'],
    upsert: { order: 'source_file, source_line' },
    datesFrom: ['order_id'],
    dates: `select min(p.order_date) from work.purchases p where p.order_id in (select ${norm('c.order_id')} from _in c) group by p.order_id
            union select f.order_date from fact_order_line f where f.source = 'file' and f.order_id in (select ${norm('c.order_id')} from _in c)`,
    dateColumn: 'order_date',
  },
  products: {
    table: 'work.products',
    columns: ['product_id', 'updated_at', 'product_name', 'category', 'price'],
    select: (f, t, backfill) => `select product_id, updated_at, product_name, category, price from staging.products where ${dimensionRows(f, t, backfill)}`,
    clean: { product_name: norm('product_name'), category: norm('category') },
    quarantine: [],
    ref: `'product ' || product_id || ' @ ' || updated_at`,
    key: ['product_id', 'updated_at'],
  },
  users: {
    table: 'work.users',
    columns: ['customer_id', 'updated_at', 'user_name', 'country', 'signup_date'],
    select: (f, t, backfill) => `select user_id, updated_at, user_name, country, signup_date from staging.users where ${dimensionRows(f, t, backfill)}`,
    userColumn: 'customer_id',
    clean: { user_name: norm('user_name'), country: `upper(${norm('country')})` },
    quarantine: [{ when: 'customer_id is null', reason: 'user_id is missing' }],
    ref: `'user ' || customer_id || ' @ ' || updated_at`,
    key: ['customer_id', 'updated_at'],
  },
  inventory: {
    table: 'work.inventory',
    columns: ['product_id', 'warehouse', 'updated_at', 'stock_level'],
    select: (f, t) => `select product_id, warehouse, updated_at, stock_level from staging.inventory where ${arrivedOrHappened('updated_at', f, t)}`,
    clean: { warehouse: `upper(${norm('warehouse')})` },
    quarantine: [{ when: 'stock_level < 0', reason: 'stock_level is negative' }],
    ref: `'inventory ' || product_id || '/' || warehouse || ' @ ' || updated_at`,
    key: ['product_id', 'warehouse', 'updated_at'],
  },
} satisfies Record<string, TransformSourceSpec>;

export type TransformSource = keyof typeof TRANSFORM_SPECS;
export const TRANSFORM_SOURCES = Object.keys(TRANSFORM_SPECS) as TransformSource[];
