-- check: quarantine_share
-- severity: warning
-- database: staging
-- param: max_share = 0.05   (largest share of a source's received rows quarantined)
-- param: min_rows = 100     (sources that received fewer rows that day are not judged)
-- description: Per source, the share of the rows its loads of the date received (by the load's
--   partition, or its start for the events stream) that ingestion quarantined stays below
--   max_share. Reads staging's etl.loads. A warning by default: the quarantined records are kept
--   (etl.quarantine and the lake's quarantine/ zone), and the rest of the date is right; a broken
--   export shows here first.
with per_source as (
  select source, sum(received) as received, sum(quarantined) as quarantined
  from etl.loads
  where status = 'succeeded'
    and coalesce(partition_start, started_at) >= ($date)::timestamp at time zone 'UTC'
    and coalesce(partition_start, started_at) < ($date + 1)::timestamp at time zone 'UTC'
  group by source
  having sum(received) >= $min_rows
), worst as (
  select source, received, quarantined, quarantined::numeric / received as share
  from per_source order by quarantined::numeric / received desc, source limit 1
)
select case when w.source is null then null else w.share <= $max_share end as ok,
       round(coalesce(w.share, 0), 4) as observed, $max_share as expected,
       case when w.source is null then format('no source received %s rows or more on this date', $min_rows)
            else format('%s: %s of %s rows quarantined (%s%%), the highest share of %s sources; at most %s%% allowed',
                        w.source, w.quarantined, w.received, round(100 * w.share, 2), (select count(*) from per_source), 100 * $max_share) end as detail
from (select 1) one left join worst w on true
