-- check: facts_have_dimensions
-- severity: blocking
-- description: Every fact and per-product metric row of the date has its dimension row: order
--   lines and events their customer and product, product_sales_daily and product_events_daily their
--   product. The facts' foreign keys already refuse an orphan (that failure is recorded under this
--   check too); the metric tables have no foreign key, so this is their guard.
with orphans as (
  select 'fact_order_line' as tbl, count(*) as n from fact_order_line f
  where f.order_date = $date
    and (not exists (select 1 from dim_customer c where c.customer_id = f.customer_id)
         or not exists (select 1 from dim_product p where p.product_id = f.product_id))
  union all
  select 'fact_event', count(*) from fact_event f
  where f.event_date = $date
    and (not exists (select 1 from dim_customer c where c.customer_id = f.customer_id)
         or (f.product_id is not null and not exists (select 1 from dim_product p where p.product_id = f.product_id)))
  union all
  select 'product_sales_daily', count(*) from product_sales_daily s
  where s.order_date = $date and not exists (select 1 from dim_product p where p.product_id = s.product_id)
  union all
  select 'product_events_daily', count(*) from product_events_daily s
  where s.event_date = $date and not exists (select 1 from dim_product p where p.product_id = s.product_id)
)
select sum(n) = 0 as ok, sum(n) as observed, 0 as expected,
       coalesce('rows without their dimension: ' || string_agg(format('%s %s', tbl, n), ', ') filter (where n > 0), 'every row has its dimensions') as detail
from orphans
