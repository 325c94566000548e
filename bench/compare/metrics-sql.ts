/**
 * The baseline jobs of bench/transform-compare.ts: the brief's metrics computed straight from a
 * generated dataset's files (`--dirt none`), as a hand-written Spark or DuckDB job would, in SQL
 * that both engines run. Only reading the files and exploding order lines differ by dialect.
 *
 * Definitions follow ../shared/MISSION.md "Metrics": an order is its latest version; a cancelled
 * order counts as an order of its date but in no revenue or units; order date is the UTC date of
 * created_at (purchase files: OrderDate); amount = Σ quantity × unit price; an event counts once per
 * event_id, dated by its UTC timestamp; a purchase line counts once per (OrderID, ProductID).
 * Revenue is decimal(18,2) in both engines (exact).
 */
export type Dialect = 'duckdb' | 'spark';

/** Views over the raw files; `dir` is the dataset folder. */
export function sourceViews(dialect: Dialect, dir: string): Array<[string, string]> {
  if (dialect === 'duckdb') {
    return [
      ['events_raw', `select * from read_json('${dir}/events.jsonl', format = 'newline_delimited', columns = {event_id: 'varchar', event_name: 'varchar', user_id: 'varchar', session_id: 'varchar', product_id: 'varchar', order_id: 'varchar', price: 'varchar', ts: 'varchar'})`],
      ['orders_raw', `select * from read_json('${dir}/orders.jsonl', format = 'newline_delimited', columns = {order_id: 'varchar', user_id: 'varchar', status: 'varchar', created_at: 'varchar', updated_at: 'varchar', lines: 'struct(product_id varchar, quantity integer, unit_price varchar)[]'})`],
      ['purchases_raw', `select CustomerID, OrderID, OrderDate, ProductID, ProductName, Quantity, Price from read_csv('${dir}/purchases/*.csv', header = true, all_varchar = true)
                         union all select CustomerID, OrderID, OrderDate, ProductID, ProductName, Quantity, Price from read_json('${dir}/purchases/*.jsonl', format = 'newline_delimited', columns = {CustomerID: 'varchar', OrderID: 'varchar', OrderDate: 'varchar', ProductID: 'varchar', ProductName: 'varchar', Quantity: 'varchar', Price: 'varchar'})`],
      ['products_raw', `select * from read_csv('${dir}/products.csv', header = true, all_varchar = true)`],
      ['order_lines_raw', `select o.order_id, o.updated_at, l.product_id, l.quantity, l.unit_price from orders_raw o, unnest(o.lines) as t(l)`],
    ];
  }
  // Spark: the DataFrames are registered as events_raw, orders_raw, purchases_raw, products_raw by the job.
  return [['order_lines_raw', 'select o.order_id, o.updated_at, l.product_id, l.quantity, l.unit_price from orders_raw o lateral view explode(o.lines) t as l']];
}

const DEC = 'decimal(18,2)';

/** The metric queries, in order; each is a named view, and the contract ones are read back. */
export const METRICS: Array<[string, string]> = [
  ['events', `select event_id, event_name, user_id, session_id, product_id, order_id, cast(price as ${DEC}) as price, cast(substr(ts, 1, 10) as date) as event_date
              from (select *, row_number() over (partition by event_id order by ts) as rn from events_raw) x where rn = 1`],
  ['orders', `select order_id, user_id, status, cast(substr(created_at, 1, 10) as date) as order_date, updated_at
              from (select *, row_number() over (partition by order_id order by updated_at desc) as rn from orders_raw) x where rn = 1`],
  ['order_lines', `select l.order_id, l.product_id, l.quantity, cast(l.unit_price as ${DEC}) as unit_price, o.status, o.order_date, o.user_id
                   from order_lines_raw l join orders o on o.order_id = l.order_id and o.updated_at = l.updated_at`],
  ['purchase_lines', `select CustomerID as customer_id, OrderID as order_id, ProductID as product_id, cast(substr(OrderDate, 1, 10) as date) as order_date,
                        cast(Quantity as integer) as quantity, cast(Price as ${DEC}) as price
                      from (select *, row_number() over (partition by OrderID, ProductID order by OrderDate) as rn from purchases_raw) x where rn = 1`],
  ['products', `select product_id, trim(product_name) as product_name, trim(category) as category
                from (select *, row_number() over (partition by product_id order by updated_at desc) as rn from products_raw) x where rn = 1`],
  // The five contract metrics.
  ['orders_by_date', `select order_date, sum(orders) as orders, cast(sum(revenue) as ${DEC}) as revenue from (
                        select o.order_date, 1 as orders, coalesce(a.amount, 0) as revenue from orders o
                          left join (select order_id, sum(quantity * unit_price) as amount from order_lines where status <> 'cancelled' group by order_id) a on a.order_id = o.order_id
                        union all
                        select order_date, 1 as orders, sum(quantity * price) as revenue from purchase_lines group by order_id, order_date) x
                      group by order_date`],
  ['monthly_revenue', `select cast(date_trunc('month', order_date) as date) as month, sum(orders) as orders, cast(sum(revenue) as ${DEC}) as revenue from orders_by_date group by 1`],
  ['daily_traffic', `select event_date, event_name, count(*) as events from events group by event_date, event_name`],
  ['daily_unique_visitors', `select event_date, count(distinct user_id) as visitors from events group by event_date`],
  ['product_sales', `select s.product_id, p.product_name, sum(units) as units, cast(sum(revenue) as ${DEC}) as revenue from (
                       select product_id, quantity as units, quantity * unit_price as revenue from order_lines where status <> 'cancelled'
                       union all select product_id, quantity, quantity * price from purchase_lines) s
                     left join products p on p.product_id = s.product_id group by s.product_id, p.product_name`],
  // The brief's other batch metrics.
  ['avg_purchase_value_per_customer', `select customer_id, cast(avg(amount) as ${DEC}) as avg_value from (select customer_id, order_id, sum(quantity * price) as amount from purchase_lines group by customer_id, order_id) x group by customer_id`],
  ['top_products_by_event', `select product_id, event_name, count(*) as n from events where product_id is not null and event_name in ('wishlist', 'return', 'order') group by product_id, event_name`],
  ['spend_per_user_session', `select user_id, cast(avg(spend) as ${DEC}) as avg_spend from (select user_id, session_id, sum(coalesce(price, 0)) as spend from events where event_name = 'order' group by user_id, session_id) x group by user_id`],
  ['funnel_daily', `select event_date, count(distinct case when event_name = 'view' then session_id end) as viewed,
                      count(distinct case when event_name = 'add_to_cart' then session_id end) as carted,
                      count(distinct case when event_name = 'order' then session_id end) as ordered
                    from events group by event_date`],
  ['category_summary', `select coalesce(p.category, 'unknown') as category, sum(s.units) as units, cast(sum(s.revenue) as ${DEC}) as revenue, count(*) as products
                        from product_sales s left join products p on p.product_id = s.product_id group by 1`],
];

/** Read back for the agreement check: the five contract metrics, in a stable order. */
export const CONTRACT_READS: Record<string, string> = {
  orders_by_date: `select cast(order_date as varchar) as order_date, orders, cast(revenue as varchar) as revenue from orders_by_date order by order_date`,
  monthly_revenue: `select cast(month as varchar) as month, orders, cast(revenue as varchar) as revenue from monthly_revenue order by month`,
  daily_traffic: `select cast(event_date as varchar) as event_date, event_name, events from daily_traffic order by event_date, event_name`,
  daily_unique_visitors: `select cast(event_date as varchar) as event_date, visitors from daily_unique_visitors order by event_date`,
  product_sales: `select product_id, units, cast(revenue as varchar) as revenue from product_sales order by product_id`,
};
