-- check: transform_quarantine_share
-- severity: warning
-- param: max_share = 0.05   (largest share of a source's rows the transform quarantined)
-- param: min_rows = 100     (sources whose extracts received fewer rows that day are not judged)
-- description: Per source, the share of the rows the transform's extracts of the date's hours read
--   from staging that its own rules quarantined (unknown event name or status, missing user or
--   session, blank ids, negative stock: docs/transform.md) stays below max_share. Reads the work
--   layer's work.loads; the ingestion side is quarantine_share.
--   (Its query has quarantine_share's shape: the two read different databases, so no shared function.)
with per_source as (
  select source, sum(received) as received, sum(quarantined) as quarantined
  from work.loads
  where partition_start >= ($date)::timestamp at time zone 'UTC' and partition_start < ($date + 1)::timestamp at time zone 'UTC'
  group by source
  having sum(received) >= $min_rows
), worst as (
  select source, received, quarantined, quarantined::numeric / received as share
  from per_source order by quarantined::numeric / received desc, source limit 1
)
select case when w.source is null then null else w.share <= $max_share end as ok,
       round(coalesce(w.share, 0), 4) as observed, $max_share as expected,
       case when w.source is null then format('no source''s extracts received %s rows or more on this date', $min_rows)
            else format('%s: %s of %s rows quarantined by the transform (%s%%), the highest share of %s sources; at most %s%% allowed',
                        w.source, w.quarantined, w.received, round(100 * w.share, 2), (select count(*) from per_source), 100 * $max_share) end as detail
from (select 1) one left join worst w on true
