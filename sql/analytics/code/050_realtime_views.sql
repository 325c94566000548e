-- realtime_rolling_hour (tables in 050_realtime.sql).
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- Conversion over the hour ending with each minute (60 minutes, the minute included).
create or replace view realtime_rolling_hour as
select m.minute, h.sessions_viewed, h.sessions_ordered,
       round(h.sessions_ordered::numeric / nullif(h.sessions_viewed, 0), 4) as conversion
from realtime_minute m
cross join lateral (
  select count(distinct s.session_key) filter (where s.viewed)::int as sessions_viewed,
         count(distinct s.session_key) filter (where s.ordered)::int as sessions_ordered
  from realtime_minute_sessions s
  where s.minute > m.minute - interval '1 hour' and s.minute <= m.minute
) h;

