-- check: no_future_dates
-- severity: warning
-- param: max_days_ahead = 1   (days past today, UTC, that a date may lie: time zones and clock skew)
-- description: The date is not in the future: facts dated more than max_days_ahead days after
--   today (UTC, the worker database's clock) come from a wrong clock or a broken export. A warning
--   by default, since a replayed or generated dataset may legitimately be dated ahead.
select ($date - (now() at time zone 'UTC')::date) <= $max_days_ahead as ok,
       ($date - (now() at time zone 'UTC')::date)::numeric as observed, $max_days_ahead as expected,
       case when $date <= (now() at time zone 'UTC')::date then format('%s is not after today (UTC)', $date)
            else format('%s is %s days after today (UTC); at most %s allowed', $date, $date - (now() at time zone 'UTC')::date, $max_days_ahead) end as detail
