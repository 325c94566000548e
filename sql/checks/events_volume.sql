-- check: events_volume
-- severity: warning
-- param: min_ratio = 0.6     (the date's events must be at least this share of the usual count)
-- param: min_history = 3     (dates with events needed to know what is usual; fewer: skipped)
-- param: grace_hours = 6     (hours after the date ends before its count is judged: late data)
-- description: The date's event count (every event type) is not far below the usual: the median
--   of the same weekday over the previous 7 weeks when at least min_history of them had events, else
--   the median of the previous 7 days. Only complete dates are judged (ended at least grace_hours
--   ago), and a date with no events at all is skipped (there is nothing to publish). Catches a
--   stream that lost part of a day. A warning by default: a shop's traffic swings more than its
--   orders. A rise is not judged.
with basis as (
  select * from work.usual_volume($date, 'events', $min_history::int)
), obs as (
  select coalesce((select sum(events) from daily_traffic where event_date = $date), 0)::numeric as n
)
select case when now() < ($date + 1)::timestamp at time zone 'UTC' + make_interval(hours => $grace_hours::int) then null
            when b.median is null or o.n = 0 then null
            else o.n >= $min_ratio * b.median end as ok,
       o.n as observed, round(b.median::numeric, 1) as expected,
       case when now() < ($date + 1)::timestamp at time zone 'UTC' + make_interval(hours => $grace_hours::int)
              then format('%s events so far: the date is not complete (judged %s h after it ends)', o.n, $grace_hours)
            when b.median is null then format('%s events; fewer than %s earlier dates with events to compare with', o.n, $min_history)
            when o.n = 0 then 'no events on this date'
            else format('%s events against a usual %s (%s): %s%% of it; at least %s%% required', o.n, round(b.median::numeric, 1), b.what,
                        round(100 * o.n / b.median::numeric, 1), 100 * $min_ratio) end as detail
from obs o, basis b
