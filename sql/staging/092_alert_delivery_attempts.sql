-- Webhook delivery attempts per alert: the schedule monitor sends alerts still unsent (etl-monitor,
-- workflows/monitor.ts); it takes the least recently tried first and gives up on an alert after
-- DELIVERY_ATTEMPTS_MAX failed sends, so a webhook that answers 404 is not called every 5 minutes
-- for a day, and newer alerts are not starved by older ones.
alter table etl.alerts add column if not exists delivery_attempts integer not null default 0;
alter table etl.alerts add column if not exists last_delivery_attempt timestamptz;
