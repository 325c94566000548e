-- Alerts of the schedule monitor (issue 19): starts buffered behind a running one past a threshold
-- ('schedule_backlog'), and starts the server dropped because its buffer was full ('schedule_dropped').
alter table etl.alerts drop constraint if exists alerts_kind_check;
alter table etl.alerts add constraint alerts_kind_check check (kind in ('failed', 'slow', 'bad_input', 'schedule_backlog', 'schedule_dropped'));
