-- data_checks_latest: the latest result of each data check per analytics date (data_checks in
-- sql/analytics/062_data_checks.sql; the checks in sql/checks/, docs/data-checks.md).
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.
create or replace view data_checks_latest as
select distinct on (check_date, check_name) check_date, check_name, severity, status, observed, expected, detail, published, run_id, checked_at
from data_checks
order by check_date, check_name, checked_at desc;
comment on view data_checks_latest is 'The latest result of each data check per analytics date: status pass | warn | fail | skip; published = false when a blocking failure kept the previous version.';

-- work.volume_check: the volume band of sql/checks/orders_volume.sql and events_volume.sql for
-- `series` ('orders' or 'events') on date d. ok is null (not judged) while the date is in progress
-- (no later date has data yet and it ended less than grace_hours ago) or when fewer than
-- min_history earlier dates have data. "Usual" is the median daily count over the same weekday of
-- the previous 7 weeks when at least min_history of them have data, else over the previous 7 days.
-- A date with no data at all is judged only when a later date has data (a hole, not the end of it).
create or replace function work.volume_check(d date, series text, min_ratio numeric, max_ratio numeric, min_history int, grace_hours numeric)
returns table (ok boolean, observed numeric, expected numeric, detail text) language sql stable as $$
  with daily as (
    select order_date as day, orders::numeric as n from orders_by_date
    where series = 'orders' and order_date between d - 49 and d + 1 and orders > 0
    union all
    select event_date, sum(events)::numeric from daily_traffic
    where series = 'events' and event_date between d - 49 and d + 1 group by event_date having sum(events) > 0
  ), later as (
    select exists (
      select 1 from orders_by_date where series = 'orders' and order_date > d and orders > 0
      union all select 1 from daily_traffic where series = 'events' and event_date > d and events > 0
    ) as yes
  ), weekday as (
    select count(*) as k, percentile_cont(0.5) within group (order by n) as median from daily
    where day < d and day >= d - 49 and extract(isodow from day) = extract(isodow from d)
  ), last7 as (
    select count(*) as k, percentile_cont(0.5) within group (order by n) as median from daily where day < d and day >= d - 7
  ), basis as (
    select case when w.k >= min_history then w.median when l.k >= min_history then l.median end::numeric as median,
           case when w.k >= min_history then format('median of %s previous same weekdays', w.k)
                when l.k >= min_history then format('median of %s of the previous 7 days', l.k) end as what
    from weekday w, last7 l
  ), obs as (
    select coalesce((select n from daily where day = d), 0) as n,
           not (select yes from later) and now() < (d + 1)::timestamp at time zone 'UTC' + make_interval(secs => grace_hours * 3600) as in_progress,
           (select yes from later) as has_later
  )
  select case when o.in_progress or b.median is null or (o.n = 0 and not o.has_later) then null
              else o.n >= min_ratio * b.median and o.n <= max_ratio * b.median end,
         o.n, round(b.median, 1),
         case when o.in_progress then format('%s %s so far: the date is in progress (judged once a later date has data or %s h after it ends)', o.n, series, grace_hours)
              when b.median is null then format('%s %s; fewer than %s earlier dates with %s to compare with', o.n, series, min_history, series)
              when o.n = 0 and not o.has_later then format('no %s on this date nor after it: the end of the data, not judged', series)
              else format('%s %s against a usual %s (%s): %s%% of it; %s%% to %s%% allowed', o.n, series, round(b.median, 1), b.what,
                          round(100 * o.n / b.median, 1), 100 * min_ratio, 100 * max_ratio) end
  from obs o, basis b
$$;
