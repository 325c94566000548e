-- data_checks_latest: the latest result of each data check per analytics date (data_checks in
-- sql/analytics/062_data_checks.sql; the checks in sql/checks/, docs/data-checks.md).
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.
create or replace view data_checks_latest as
select distinct on (check_date, check_name) check_date, check_name, severity, status, observed, expected, detail, published, run_id, checked_at
from data_checks
order by check_date, check_name, checked_at desc;
comment on view data_checks_latest is 'The latest result of each data check per analytics date: status pass | warn | fail | skip; published = false when a blocking failure kept the previous version.';

-- work.usual_volume: what "usual" means for the volume checks (sql/checks/orders_volume.sql and
-- events_volume.sql): the median daily count of `series` ('orders' or 'events') over the same
-- weekday of the previous 7 weeks when at least min_history of them have a count, else over the
-- previous 7 days; null when neither has min_history dates. `what` says which basis was used.
create or replace function work.usual_volume(d date, series text, min_history int)
returns table (median numeric, what text) language sql stable as $$
  with daily as (
    select order_date as day, orders::numeric as n from orders_by_date
    where series = 'orders' and order_date between d - 49 and d - 1 and orders > 0
    union all
    select event_date, sum(events)::numeric from daily_traffic
    where series = 'events' and event_date between d - 49 and d - 1 group by event_date having sum(events) > 0
  ), weekday as (
    select count(*) as k, percentile_cont(0.5) within group (order by n) as median from daily
    where extract(isodow from day) = extract(isodow from d)
  ), last7 as (
    select count(*) as k, percentile_cont(0.5) within group (order by n) as median from daily where day >= d - 7
  )
  select case when w.k >= min_history then w.median when l.k >= min_history then l.median end::numeric,
         case when w.k >= min_history then format('median of %s previous same weekdays', w.k)
              when l.k >= min_history then format('median of %s of the previous 7 days', l.k) end
  from weekday w, last7 l
$$;
