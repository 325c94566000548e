-- check: no_negative_amounts
-- severity: blocking
-- description: No order line of the date has a negative amount, quantity or unit price, and no
--   metric row a negative revenue or unit count. Ingestion and the fact table's constraints refuse
--   most of these; this guards the amounts computed after them.
with bad as (
  select count(*) as n from fact_order_line where order_date = $date and (amount < 0 or quantity < 0 or unit_price < 0)
  union all select count(*) from orders_by_date where order_date = $date and revenue < 0
  union all select count(*) from product_sales_daily where order_date = $date and (revenue < 0 or units < 0)
)
select sum(n) = 0 as ok, sum(n) as observed, 0 as expected,
       format('%s rows with a negative amount, quantity, price, revenue or unit count', sum(n)) as detail
from bad
