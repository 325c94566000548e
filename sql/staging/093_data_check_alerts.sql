-- data_check: an analytics date that failed a data check (blocking: not published; warning:
-- published). Raised by the transform's loadAnalyticsDate (activities/transform/checks.ts).
alter table etl.alerts drop constraint if exists alerts_kind_check;
alter table etl.alerts add constraint alerts_kind_check check (kind in ('failed', 'slow', 'bad_input', 'schedule_backlog', 'schedule_dropped', 'data_lost', 'data_check'));
