-- Alerts raised by scheduled runs that failed or ran past their SLA. A person sees them with
-- `etl alerts`, and on the webhook (ALERT_WEBHOOK_URL) when one is configured.
-- alert_id is '<workflowId>/<runId>/<kind>': one alert per run and kind, however often raised.
create table if not exists etl.alerts (
  alert_id        text primary key,
  raised_at       timestamptz not null default now(),
  pipeline        text not null,
  partition_start timestamptz,
  kind            text not null check (kind in ('failed', 'slow')),
  message         text not null,
  workflow_id     text not null,
  run_id          text not null,
  delivered_at    timestamptz,                 -- when the webhook accepted it; null: not sent (yet)
  delivery_error  text                         -- last webhook error, for `etl alerts`
);
create index if not exists alerts_raised_at on etl.alerts (raised_at desc);
