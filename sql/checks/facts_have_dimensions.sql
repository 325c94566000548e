-- check: facts_have_dimensions
-- severity: blocking
-- description: Every fact and per-product metric row of the date has its dimension row: order
--   lines and events their customer and product, product_sales_daily and product_events_daily their
--   product. Neither fact table has foreign keys (dropped for load speed: fact_event's in
--   sql/analytics/070, fact_order_line's in 072), so the date's lines and events are read, as are
--   the metric tables. A fact table that has both keys again (a user's choice) is not read: they
--   refuse an orphan, and that failure is recorded under this check too.

-- A fact table is read only when one of its two foreign keys is missing or not validated (both
-- tables, since sql/analytics/072): with them, PostgreSQL has already refused every orphan.
-- Distinct keys, then anti-joins.
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
