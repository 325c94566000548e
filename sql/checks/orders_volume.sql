-- check: orders_volume
-- severity: blocking
-- param: min_ratio = 0.6     (the date's orders must be at least this share of the usual count)
-- param: min_history = 3     (dates with orders needed to know what is usual; fewer: skipped)
-- param: grace_hours = 6     (hours after the date ends before its count is judged: late data)
-- description: The date's order count is not far below the usual: the median of the same weekday
--   over the previous 7 weeks when at least min_history of them had orders, else the median of the
--   previous 7 days. Only complete dates are judged (ended at least grace_hours ago), and a date
--   with no orders at all is skipped (there is nothing to publish). Catches an export that lost
--   part of a day. A rise is not judged.
with basis as (
  select * from work.usual_volume($date, 'orders', $min_history::int)
), obs as (
  select coalesce((select orders from orders_by_date where order_date = $date), 0)::numeric as n
)
select case when now() < ($date + 1)::timestamp at time zone 'UTC' + make_interval(hours => $grace_hours::int) then null
            when b.median is null or o.n = 0 then null
            else o.n >= $min_ratio * b.median end as ok,
       o.n as observed, round(b.median::numeric, 1) as expected,
       case when now() < ($date + 1)::timestamp at time zone 'UTC' + make_interval(hours => $grace_hours::int)
              then format('%s orders so far: the date is not complete (judged %s h after it ends)', o.n, $grace_hours)
            when b.median is null then format('%s orders; fewer than %s earlier dates with orders to compare with', o.n, $min_history)
            when o.n = 0 then 'no orders on this date'
            else format('%s orders against a usual %s (%s): %s%% of it; at least %s%% required', o.n, round(b.median::numeric, 1), b.what,
                        round(100 * o.n / b.median::numeric, 1), 100 * $min_ratio) end as detail
from obs o, basis b
