-- check: revenue_reconciles
-- severity: blocking
-- description: The date's published orders, revenue and units equal a recount straight from the
--   work layer (the transform's cleaned copy of the staging rows): API orders by their latest
--   version, purchase-file orders by their earliest line's date, cancelled orders in no revenue or
--   units. Catches a load or metric step that drops, doubles or misprices rows.
with api as (
  select distinct on (order_id) order_id, updated_at, status, created_date
  from work.orders
  where order_id in (select order_id from work.orders where created_date = $date)
  order by order_id, updated_at desc
), files as (
  select order_id from work.purchases
  where order_id in (select order_id from work.purchases where order_date = $date)
  group by order_id having min(order_date) = $date
), lines as (
  select 'api' as source, v.order_id, l.quantity, l.quantity * l.unit_price as amount, v.status = 'cancelled' as cancelled
  from api v join work.order_lines l using (order_id, updated_at) where v.created_date = $date
  union all
  select 'file', p.order_id, p.quantity, p.quantity * p.price, false from files join work.purchases p using (order_id)
), expected as (
  select count(distinct (source, order_id)) as orders,
         coalesce(sum(amount) filter (where not cancelled), 0) as revenue,
         coalesce(sum(quantity) filter (where not cancelled), 0) as units
  from lines
), published as (
  select coalesce((select orders from orders_by_date where order_date = $date), 0) as orders,
         coalesce((select revenue from orders_by_date where order_date = $date), 0) as revenue,
         coalesce((select sum(revenue) from product_sales_daily where order_date = $date), 0) as product_revenue,
         coalesce((select sum(units) from product_sales_daily where order_date = $date), 0) as units
)
select p.orders = e.orders and p.revenue = e.revenue and p.product_revenue = e.revenue and p.units = e.units as ok,
       p.revenue as observed, e.revenue as expected,
       format('published: %s orders, revenue %s (by product %s), %s units; recounted from the work layer: %s orders, revenue %s, %s units',
              p.orders, p.revenue, p.product_revenue, p.units, e.orders, e.revenue, e.units) as detail
from published p, expected e
