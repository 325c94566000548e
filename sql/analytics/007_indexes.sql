-- Indexes chosen from EXPLAIN (ANALYZE) of the metric queries at scale 10 (docs/query-plans.md):
-- each replaces a sequential scan of fact_event (1M rows a day at scale 10) or of all order lines.

-- One user's behaviour (user_behavior, customers): was a Seq Scan of fact_event.
create index if not exists fact_event_customer on fact_event (customer_id);

-- One day's events of one type (user_behavior by date and event_name, the transform's per-date
-- work): covers what fact_event_date served, so that index goes.
create index if not exists fact_event_date_name on fact_event (event_date, event_name);
drop index if exists fact_event_date;

-- Average spend per user per session reads only `order` events: a partial covering index turns a
-- full scan into an index-only scan of a few percent of the table.
create index if not exists fact_event_order_sessions on fact_event (customer_id, session_id) include (price) where event_name = 'order';

-- One customer's orders (avg_purchase_value_per_customer, customers, country views).
create index if not exists fact_order_line_customer on fact_order_line (customer_id);

-- The orders view, regrouped by customer so a filter on it reaches fact_order_line_customer,: moved to sql/analytics/code/040_metric_views.sql, which holds the current definition (see lib/migrate.ts).
