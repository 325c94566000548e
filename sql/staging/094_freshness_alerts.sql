-- stale: a table past its freshness SLA (activities/monitor/freshness.ts, docs/operations.md),
-- raised by freshnessWorkflow once per episode and cleared (cleared_at) when the table catches up.
alter table etl.alerts drop constraint if exists alerts_kind_check;
alter table etl.alerts add constraint alerts_kind_check check (kind in ('failed', 'slow', 'bad_input', 'schedule_backlog', 'schedule_dropped', 'data_lost', 'data_check', 'stale'));
alter table etl.alerts add column if not exists cleared_at timestamptz;
create index if not exists alerts_open_stale on etl.alerts (pipeline) where kind = 'stale' and cleared_at is null;
