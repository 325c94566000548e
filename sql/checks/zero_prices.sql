-- check: zero_prices
-- severity: blocking
-- param: max_share = 0.02   (largest share of the date's non-cancelled order lines priced at 0)
-- param: min_lines = 20     (fewer lines than this: too few to judge, skipped)
-- description: Few of the date's non-cancelled order lines have a unit price of 0. A broken
--   upstream export that zeroes prices would publish a day of no revenue; this blocks it.
with l as (
  select count(*) as lines, count(*) filter (where unit_price = 0) as zero
  from fact_order_line where order_date = $date and not cancelled
)
select case when lines < $min_lines or lines = 0 then null else zero::numeric / lines <= $max_share end as ok,
       round(coalesce(zero::numeric / nullif(lines, 0), 0), 4) as observed, $max_share as expected,
       case when lines < $min_lines or lines = 0 then format('%s order lines: fewer than %s, not judged', lines, $min_lines)
            else format('%s of %s non-cancelled order lines priced at 0 (%s%%); at most %s%% allowed', zero, lines, round(100 * zero::numeric / nullif(lines, 0), 2), 100 * $max_share) end as detail
from l
