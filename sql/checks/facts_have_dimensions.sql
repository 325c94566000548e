-- check: facts_have_dimensions
-- severity: blocking
-- description: Every fact and per-product metric row of the date has its dimension row: order
--   lines and events their customer and product, product_sales_daily and product_events_daily their
--   product. fact_order_line's foreign keys already refuse an orphan (that failure is recorded under
--   this check too), so its lines are read only when a key is missing; fact_event has none (dropped
--   for load speed, sql/analytics/070), so the date's events are always read, as are the metric tables.

-- A fact table is read only when one of its two foreign keys is missing or not validated
-- (fact_event always; fact_order_line after a bad migration or restore): with them, PostgreSQL has
-- already refused every orphan. Distinct keys, then anti-joins.
with guarded as (
  select count(*) filter (where conrelid = 'fact_order_line'::regclass) = 2 as lines,
         count(*) filter (where conrelid = 'fact_event'::regclass) = 2 as events
  from pg_constraint
  where contype = 'f' and convalidated and conname in ('fact_order_line_customer_id_fkey', 'fact_order_line_product_id_fkey', 'fact_event_customer_id_fkey', 'fact_event_product_id_fkey')
    and conrelid in ('fact_order_line'::regclass, 'fact_event'::regclass)
), customers as (
  select customer_id from fact_order_line where not (select lines from guarded) and order_date = $date
  union select customer_id from fact_event where not (select events from guarded) and event_date = $date
), products as (
  select product_id from fact_order_line where not (select lines from guarded) and order_date = $date
  union select product_id from fact_event where not (select events from guarded) and event_date = $date and product_id is not null
  union select product_id from product_sales_daily where order_date = $date
  union select product_id from product_events_daily where event_date = $date
), orphans as (
  select 'customers' as what, count(*) as n from customers k where not exists (select 1 from dim_customer c where c.customer_id = k.customer_id)
  union all
  select 'products', count(*) from products k where not exists (select 1 from dim_product p where p.product_id = k.product_id)
)
select sum(n) = 0 as ok, sum(n) as observed, 0 as expected,
       coalesce('keys the date''s facts or metrics use that their dimension lacks: ' || string_agg(format('%s %s', n, what), ', ') filter (where n > 0), 'every row has its dimensions') as detail
from orphans
