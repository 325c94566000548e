-- A cleared stale alert is sent to the webhook once more, as resolved (activities/common/alerts.ts
-- deliverAlert with resolved: true): when that was accepted.
alter table etl.alerts add column if not exists clear_delivered_at timestamptz;
