/**
 * Every panel of the dashboard: its page, its SQL (parameterised; identifiers never come from the
 * request), what its numbers mean, and how it is drawn. A panel's numbers are exactly its SQL's rows:
 * the page shows them in a table beside the chart, and the CSV export is the same rows.
 *
 * Parameters: $1 from and $2 to (inclusive dates), $3 category and $4 country (null: all). A panel
 * that some filter does not apply to says so on the page (`uses`). Sales and visitors under the
 * filters come from the daily segment tables (sql/analytics/064_dashboard_segments.sql: sales per category and country, visitors per country), never from
 * the facts, so a panel reads about one row per day.
 */
import type { Filters } from './filters';
import { previousRange } from './filters';

export type PageId = 'overview' | 'products' | 'inventory' | 'customers' | 'churn' | 'realtime' | 'health';
export type Filter = 'range' | 'category' | 'country';

export interface ChartSpec {
  type: 'line' | 'bar' | 'heatmap';
  /** The column along the x axis. */
  x: string;
  /** The columns drawn as series (line or bar), or [value] for a heatmap. */
  y: string[];
  /** Heatmap: the column along the y axis. Line: a column whose values split the rows into series. */
  by?: string;
  /** Realtime: marks at these x values (the minutes of spike alerts), from another panel's rows. */
  marksFrom?: { panel: string; column: string };
}

export interface Panel {
  id: string;
  page: PageId;
  title: string;
  /** What the numbers are, in words: shown one click away, with the SQL. */
  definition: string;
  /** 'temporal': `sql` is a visibility query of the Temporal server, run by the dashboard's client. */
  db: 'analytics' | 'staging' | 'temporal';
  sql: string;
  params: (f: Filters) => unknown[];
  uses: Filter[];
  chart?: ChartSpec;
  /** Shown as headline figures (metric, value, previous, change) instead of a table. */
  kpis?: boolean;
  /** The page refreshes this panel every so many ms without a reload. */
  refreshMs?: number;
  /** Shown instead of "No rows for these filters." when the panel has no rows. */
  empty?: string;
}

const all = (f: Filters) => [f.from, f.to, f.category, f.country];
const rangeOnly = (f: Filters) => [f.from, f.to];
const none = () => [];
const SEGMENT = `category = coalesce($3::text, '*') and country = coalesce($4::text, '*')`;

export const PAGES: ReadonlyArray<{ id: PageId; title: string }> = [
  { id: 'overview', title: 'Overview' },
  { id: 'products', title: 'Products' },
  { id: 'inventory', title: 'Inventory' },
  { id: 'customers', title: 'Customers and countries' },
  { id: 'churn', title: 'Churn' },
  { id: 'realtime', title: 'Realtime' },
  { id: 'health', title: 'Pipeline health' },
];

export const PANELS: readonly Panel[] = [
  {
    id: 'overview-kpis', page: 'overview', title: 'The range against the one before', db: 'analytics', kpis: true, uses: ['range', 'category', 'country'],
    definition: 'Revenue: the amounts of non-cancelled order lines (API orders and purchase files). Orders: distinct orders, cancelled included, as orders_by_date. Average order value: revenue / non-cancelled orders. Unique visitors per day: distinct users with any event each day, averaged over the days of the range (by country, never by category: a visit is not to a category). Each is shown against the range of the same length just before, with the change as a fraction. Under a category, an order counts when one of its lines is in it, and revenue is that category\'s lines.',
    sql: `with r (cur, lo, hi) as (values (true, $1::date, $2::date), (false, $5::date, $6::date)),
t as (
  select r.cur,
         coalesce(sum(s.revenue), 0) as revenue, coalesce(sum(s.orders), 0) as orders, coalesce(sum(s.kept_orders), 0) as kept,
         (select coalesce(sum(v.visitors), 0) from visitors_daily_country v
          where v.event_date between r.lo and r.hi and v.country = coalesce($4::text, '*')) as visitors,
         r.hi - r.lo + 1 as days
  from r left join sales_daily_segment s
    on s.order_date between r.lo and r.hi and s.category = coalesce($3::text, '*') and s.country = coalesce($4::text, '*')
  group by r.cur, r.lo, r.hi
)
select m.metric, m.value, m.previous, case when m.previous <> 0 then round((m.value - m.previous) / abs(m.previous), 4) end as change
from t c join t p on c.cur and not p.cur
cross join lateral (values
  (1, 'revenue', c.revenue, p.revenue),
  (2, 'orders', c.orders::numeric, p.orders::numeric),
  (3, 'average order value', round(c.revenue / nullif(c.kept, 0), 2), round(p.revenue / nullif(p.kept, 0), 2)),
  (4, 'unique visitors per day', round(c.visitors::numeric / c.days, 1), round(p.visitors::numeric / p.days, 1))
) m (n, metric, value, previous)
order by m.n`,
    params: (f) => { const p = previousRange(f); return [f.from, f.to, f.category, f.country, p.from, p.to]; },
  },
  {
    id: 'monthly-revenue', page: 'overview', title: 'Monthly revenue, the 12 months to the end of the range', db: 'analytics', uses: ['range', 'category', 'country'],
    definition: 'Per calendar month, the revenue of non-cancelled order lines and the non-cancelled orders, over twelve months: the month of the range\'s last day and the eleven before it (the last month counts up to that day). Without filters its revenue equals the monthly_revenue view\'s (whose orders count cancelled ones too).',
    sql: `select date_trunc('month', order_date)::date as month, sum(revenue) as revenue, sum(kept_orders)::bigint as kept_orders
from sales_daily_segment
where order_date >= date_trunc('month', $1::date) - interval '11 months' and order_date <= $1::date
  and category = coalesce($2::text, '*') and country = coalesce($3::text, '*')
group by 1 order by 1`,
    params: (f) => [f.to, f.category, f.country],
    chart: { type: 'line', x: 'month', y: ['revenue'] },
  },
  {
    id: 'orders-by-date', page: 'overview', title: 'Orders by date', db: 'analytics', uses: ['range', 'category', 'country'],
    definition: 'Per order date in the range: distinct orders (cancelled included, as orders_by_date), non-cancelled orders, and their revenue.',
    sql: `select order_date, orders, kept_orders, revenue from sales_daily_segment
where order_date between $1::date and $2::date and ${SEGMENT} order by order_date`,
    params: all,
    chart: { type: 'bar', x: 'order_date', y: ['orders'] },
  },
  {
    id: 'top-products', page: 'products', title: 'Top 10 products by units sold in the range', db: 'analytics', uses: ['range', 'category'],
    definition: 'Units of non-cancelled order lines per product over the range, the ten highest (ties by product id). With the default range, the 30 days ending at the newest order date, it is the top_products_last_month view.',
    sql: `select rank() over (order by sum(s.units) desc, s.product_id) as rank, s.product_id, p.product_name, sum(s.units)::bigint as units, sum(s.revenue) as revenue
from product_sales_daily s join dim_product p using (product_id)
where s.order_date between $1::date and $2::date and ($3::text is null or p.category_key = $3::text)
group by s.product_id, p.product_name order by rank limit 10`,
    params: (f) => [f.from, f.to, f.category],
    chart: { type: 'bar', x: 'product_name', y: ['units'] },
  },
  {
    id: 'product-rankings', page: 'products', title: 'Most sold, most wishlisted and most returned', db: 'analytics', uses: ['range', 'category'],
    definition: 'The ten products with the most units sold (non-cancelled lines), the most wishlist events and the most return events in the range, each ranked on its own (ties by product id).',
    sql: `select ranking, rank, product_id, product_name, value from (
  select r.ranking, rank() over (partition by r.ranking order by r.value desc, r.product_id) as rank, r.product_id, p.product_name, r.value
  from (select 'most sold' as ranking, product_id, sum(units)::bigint as value from product_sales_daily
        where order_date between $1::date and $2::date group by product_id
        union all
        select case event_name when 'wishlist' then 'most wishlisted' else 'most returned' end, product_id, sum(events)::bigint
        from product_events_daily where event_date between $1::date and $2::date and event_name in ('wishlist', 'return') group by 1, 2) r
  join dim_product p using (product_id)
  where $3::text is null or p.category_key = $3::text
) t where rank <= 10 order by ranking, rank, product_id`,
    params: (f) => [f.from, f.to, f.category],
  },
  {
    id: 'category-summary', page: 'products', title: 'Categories', db: 'analytics', uses: ['range', 'category'],
    definition: 'Per category over the range: products sold, units and revenue of non-cancelled lines, and view, cart, wishlist and return events on its products.',
    sql: `select p.category_key as category, count(distinct s.product_id) as products_sold, coalesce(sum(s.units), 0)::bigint as units, coalesce(sum(s.revenue), 0) as revenue,
       coalesce(sum(e.views), 0)::bigint as views, coalesce(sum(e.carts), 0)::bigint as add_to_carts,
       coalesce(sum(e.wishlists), 0)::bigint as wishlists, coalesce(sum(e.returns), 0)::bigint as returns
from dim_product p
left join (select product_id, sum(units) as units, sum(revenue) as revenue from product_sales_daily
           where order_date between $1::date and $2::date group by 1) s using (product_id)
left join (select product_id, sum(events) filter (where event_name = 'view') as views, sum(events) filter (where event_name = 'add_to_cart') as carts,
                  sum(events) filter (where event_name = 'wishlist') as wishlists, sum(events) filter (where event_name = 'return') as returns
           from product_events_daily where event_date between $1::date and $2::date group by 1) e using (product_id)
where ($3::text is null or p.category_key = $3::text) and (s.product_id is not null or e.product_id is not null)
group by p.category_key order by revenue desc, category`,
    params: (f) => [f.from, f.to, f.category],
  },
  {
    id: 'turnover-heatmap', page: 'inventory', title: 'Inventory turnover by category and month', db: 'analytics', uses: ['range', 'category'],
    definition: 'Per category and calendar month overlapping the range: units sold (non-cancelled lines) / average stock, where average stock sums over the category\'s products and warehouses the mean of the stock levels observed that month (the inventory_turnover_monthly view). Empty where no level was observed.',
    sql: `select category, month, units_sold, avg_stock, turnover from inventory_turnover_monthly
where month between date_trunc('month', $1::date)::date and $2::date and ($3::text is null or category = $3::text)
order by category, month`,
    params: (f) => [f.from, f.to, f.category],
    chart: { type: 'heatmap', x: 'month', by: 'category', y: ['turnover'] },
  },
  {
    id: 'low-stock', page: 'inventory', title: 'Lowest stock now', db: 'analytics', uses: ['category'],
    definition: 'The 20 products with the least stock: each warehouse\'s latest level, summed (the inventory_stock view). The date range does not apply: this is the stock now.',
    sql: `select product_id, product_name, category, stock, warehouses, as_of from inventory_stock
where $1::text is null or category = $1::text order by stock, product_id limit 20`,
    params: (f) => [f.category],
  },
  {
    id: 'countries', page: 'customers', title: 'Countries', db: 'analytics', uses: ['range', 'country'],
    definition: 'Per customer country over the range, non-cancelled orders: customers who ordered, orders, quantity, revenue and the average quantity per order, highest revenue first. The first five rows are the top 5 countries. '
      + 'Orders, quantity and revenue are summed per order date (sales_daily_segment); customers are counted exactly, each once however many days they ordered (customer_order_gaps: a customer counts on their first order day in the range). Over all the data it is the country_summary view (while an order is cancelled whole, as the pipeline records it).',
    sql: `with s as (
  select country, sum(kept_orders) as orders, sum(units) as quantity, sum(revenue) as revenue from sales_daily_segment
  where order_date between $1::date and $2::date and category = '*' and country <> '*' and ($3::text is null or country = $3::text)
  group by country having sum(kept_orders) > 0),
c as (
  select country, sum(customers) as customers from customer_order_gaps
  where order_date between $1::date and $2::date and (gap = 0 or gap > order_date - $1::date) and ($3::text is null or country = $3::text)
  group by country)
select s.country, coalesce(c.customers, 0)::bigint as customers, s.orders::bigint as orders, s.quantity::bigint as quantity, s.revenue,
       round(s.quantity::numeric / s.orders, 2) as avg_quantity
from s left join c using (country) order by s.revenue desc, s.country`,
    params: (f) => [f.from, f.to, f.country],
    chart: { type: 'bar', x: 'country', y: ['revenue'] },
  },
  {
    id: 'high-value-orders', page: 'customers', title: 'High-value orders', db: 'analytics', uses: ['range', 'country'],
    definition: 'Non-cancelled orders in the range whose amount is at or above the 95th percentile (percentile_cont, interpolated) of the range\'s order amounts, the 50 largest. An order is its non-cancelled lines of one order date (order_values). Customers are pseudonyms.',
    // The percentile from the top 5% of amounts only: n from sales_daily_segment (kept orders: the rows
    // of order_values, an order having one customer and every customer a country), then the two amounts
    // around its position read down the amount index (percentile_cont's interpolation, in float8 as it
    // does). Materialised: inlined, the threshold's subqueries ran again for every row compared.
    sql: `with n as (select coalesce(sum(kept_orders), 0) as n from sales_daily_segment where order_date between $1::date and $2::date and category = '*' and country = coalesce($3::text, '*')),
k as (select n, 0.95::float8 * (n - 1) as p from n where n > 0),
v as materialized (select k.p, array(select amount from order_values where order_date between $1::date and $2::date and ($3::text is null or country = $3::text)
                        order by amount desc offset (k.n - 1 - ceil(k.p))::bigint limit 2) as a from k),
t as materialized (select case when p = floor(p) then a[1]::float8 else a[2]::float8 + (p - floor(p)) * (a[1]::float8 - a[2]::float8) end as threshold from v)
select o.source, o.order_id, o.order_date, o.customer_id, o.country, o.amount from order_values o, t
where o.order_date between $1::date and $2::date and ($3::text is null or o.country = $3::text) and o.amount >= t.threshold
order by o.amount desc, o.order_id limit 50`,
    params: (f) => [f.from, f.to, f.country],
  },
  {
    id: 'funnel', page: 'customers', title: 'Funnel: view, cart, order', db: 'analytics', uses: ['range'],
    definition: 'Summed over the days of the range: distinct users each day who viewed, added to cart and ordered (user-days, from funnel_daily), and the conversion from each step to the next and from view to order.',
    sql: `select coalesce(sum(viewers), 0)::bigint as viewers, coalesce(sum(add_to_cart_users), 0)::bigint as add_to_cart_users, coalesce(sum(buyers), 0)::bigint as buyers,
       round(sum(add_to_cart_users)::numeric / nullif(sum(viewers), 0), 4) as view_to_cart,
       round(sum(buyers)::numeric / nullif(sum(add_to_cart_users), 0), 4) as cart_to_order,
       round(sum(buyers)::numeric / nullif(sum(viewers), 0), 4) as conversion
from funnel_daily where event_date between $1::date and $2::date`,
    params: rangeOnly,
  },
  {
    id: 'churn-models', page: 'churn', title: 'Churn models: the latest run against the recency baseline', db: 'analytics', uses: [],
    definition: 'The latest churnWorkflow run (docs/churn.md): a customer has churned when they place no order within the horizon (N days) after a cutoff. '
      + 'Each model was trained at earlier cutoffs and judged at the test cutoff, on a period it never saw labelled: ROC AUC and PR AUC (ranking), Brier score (calibrated probability; lower is better), '
      + 'precision and recall among the top-scored 10%, and the lift of that precision over the recency-only baseline. Filters do not apply: a run covers every customer.',
    sql: `select model, cutoff, test_cutoff, horizon_days, training_rows, test_rows,
       round((metrics->>'roc_auc')::numeric, 3) as roc_auc, round((metrics->>'pr_auc')::numeric, 3) as pr_auc, round((metrics->>'brier')::numeric, 3) as brier,
       round((metrics->>'precision_top_decile')::numeric, 3) as precision_top_decile, round((metrics->>'recall_top_decile')::numeric, 3) as recall_top_decile,
       round((metrics->>'lift_over_recency')::numeric, 3) as lift_over_recency, round((metrics->>'base_rate')::numeric, 3) as churn_rate, created_at
from churn_latest_runs order by array_position(array['recency_baseline', 'logistic_regression', 'gradient_boosting'], model)`,
    params: none,
    chart: { type: 'bar', x: 'model', y: ['roc_auc', 'pr_auc'] },
    empty: 'No churn run yet: npx etl churn train (or wait for the weekly etl-churn schedule).',
  },
  {
    id: 'churn-features', page: 'churn', title: 'What drives the gradient-boosted model', db: 'analytics', uses: [],
    definition: 'Permutation importance of each feature in the latest run\'s gradient-boosted model: how much its test ROC AUC drops when the feature\'s values are shuffled among customers. The ten largest.',
    sql: `select kv.feature, round(kv.value::numeric, 4) as importance
from churn_latest_runs r, jsonb_each_text(r.importances) as kv(feature, value)
where r.model = 'gradient_boosting' order by kv.value::numeric desc, kv.feature limit 10`,
    params: none,
    chart: { type: 'bar', x: 'feature', y: ['importance'] },
  },
  {
    id: 'churn-segments', page: 'churn', title: 'Riskiest customer segments', db: 'analytics', uses: ['category', 'country'],
    definition: 'Customers scored by the latest run\'s gradient-boosted model, grouped by country and preferred category (the category they bought most of before the cutoff): how many, their mean churn probability, and how many are in the high-risk band (the top 10% of scores). Segments of at least 5 customers, riskiest first.',
    sql: `select country, top_category, customers, round(avg_score::numeric, 3) as avg_score, high_risk,
       round(high_risk::numeric / customers, 3) as high_risk_share
from churn_risk_segments s
where model = 'gradient_boosting' and customers >= 5 and ($1::text is null or top_category = $1::text) and ($2::text is null or country = $2::text)
order by s.avg_score desc, s.customers desc, s.country, s.top_category limit 25`,
    params: (f) => [f.category, f.country],
  },
  {
    id: 'realtime-activity', page: 'realtime', title: 'Active users and orders per minute, the last hour', db: 'analytics', uses: [], refreshMs: 5000,
    definition: 'Per minute, the last 60 minutes up to the newest minute with events: distinct active users, events and orders (realtime_minute, kept current by the realtime loop from the event stream).',
    sql: `select minute, active_users, events, orders from realtime_minute
where minute > (select max(minute) from realtime_minute) - interval '60 minutes' order by minute`,
    params: none,
    chart: { type: 'line', x: 'minute', y: ['active_users', 'orders'], marksFrom: { panel: 'realtime-alerts', column: 'minute' } },
  },
  {
    id: 'realtime-events', page: 'realtime', title: 'Events per minute by type', db: 'analytics', uses: [], refreshMs: 5000,
    definition: 'Per minute and event type, the last 60 minutes up to the newest minute with events (realtime_minute_events).',
    sql: `select minute, event_name, events from realtime_minute_events
where minute > (select max(minute) from realtime_minute) - interval '60 minutes' order by minute, event_name`,
    params: none,
    chart: { type: 'line', x: 'minute', by: 'event_name', y: ['events'] },
  },
  {
    id: 'realtime-conversion', page: 'realtime', title: 'Conversion per minute and over the rolling hour', db: 'analytics', uses: [], refreshMs: 5000,
    definition: 'Per minute, sessions that ordered / sessions that viewed, that minute (realtime_minute) and over the 60 minutes ending with it (realtime_rolling_hour).',
    sql: `select m.minute, m.conversion, h.conversion as rolling_hour_conversion from realtime_minute m
left join realtime_rolling_hour h using (minute)
where m.minute > (select max(minute) from realtime_minute) - interval '60 minutes' order by m.minute`,
    params: none,
    chart: { type: 'line', x: 'minute', y: ['conversion', 'rolling_hour_conversion'] },
  },
  {
    id: 'realtime-alerts', page: 'realtime', title: 'Spike alerts', db: 'analytics', uses: [], refreshMs: 5000,
    definition: 'Spikes the realtime loop raised in the last 24 hours of the data: the event type, its first and last minute, the count observed against the expected one, and the score (realtime_alerts). They are marked on the activity chart.',
    sql: `select minute, last_minute, event_name, observed, expected, score, raised_at from realtime_alerts
where minute > (select max(minute) from realtime_minute) - interval '24 hours' order by minute desc limit 50`,
    params: none,
  },
  {
    id: 'pipeline-freshness', page: 'health', title: 'Pipelines: last load and freshness', db: 'staging', uses: [],
    definition: 'Per pipeline (etl.loads): when its newest successful load finished, how old that is in seconds, and over the last 24 hours its loads, rows received, loaded, quarantined and duplicate, and loads not succeeded. A stale pipeline is one whose age keeps growing past its cadence.',
    sql: `select pipeline, max(finished_at) filter (where status = 'succeeded') as last_load,
       round(extract(epoch from now() - max(finished_at) filter (where status = 'succeeded')))::bigint as age_seconds,
       count(*) filter (where finished_at > now() - interval '24 hours') as loads_24h,
       coalesce(sum(received) filter (where finished_at > now() - interval '24 hours'), 0)::bigint as received_24h,
       coalesce(sum(loaded) filter (where finished_at > now() - interval '24 hours'), 0)::bigint as loaded_24h,
       coalesce(sum(quarantined) filter (where finished_at > now() - interval '24 hours'), 0)::bigint as quarantined_24h,
       coalesce(sum(duplicates) filter (where finished_at > now() - interval '24 hours'), 0)::bigint as duplicates_24h,
       count(*) filter (where status <> 'succeeded' and started_at > now() - interval '24 hours') as not_succeeded_24h
from etl.loads group by pipeline order by pipeline`,
    params: none,
  },
  {
    id: 'workflow-runs', page: 'health', title: 'Failed runs, and runs going on for over an hour', db: 'temporal', uses: [],
    definition: 'From the Temporal server\'s visibility store: workflows of the pipeline (EtlPipeline set) that failed, timed out or were terminated in the last 7 days, and those running for more than an hour, except the continuous loops (the events stream and the realtime loop, which run for good), newest first, at most 50. Each links to its history in the Temporal UI.',
    sql: `EtlPipeline IS NOT NULL AND ((ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated') AND CloseTime > $1) OR (ExecutionStatus = 'Running' AND StartTime < $2))`,
    params: () => [new Date(Date.now() - 7 * 86_400_000).toISOString(), new Date(Date.now() - 3_600_000).toISOString()],
  },
  {
    id: 'alerts', page: 'health', title: 'Alerts, the last 7 days', db: 'staging', uses: [],
    definition: 'Alerts raised by the pipelines (etl.alerts) in the last 7 days, and stale-data alerts still open however old, newest first, with whether the webhook took them. A stale alert (a table past its freshness SLA, docs/operations.md) shows when it cleared.',
    sql: `select raised_at, pipeline, kind, alert_id, workflow_id, run_id, delivered_at, cleared_at, left(message, 300) as message from etl.alerts
where raised_at > now() - interval '7 days' or (kind = 'stale' and cleared_at is null) order by raised_at desc limit 50`,
    params: none,
  },
];

export const panelsOf = (page: PageId) => PANELS.filter((p) => p.page === page);
export const panelById = (id: string) => PANELS.find((p) => p.id === id);
