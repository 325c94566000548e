-- Near-real-time metrics per minute of event time, recomputed in full from staging.events for
-- every minute a load touched (see docs/realtime.md). Each event counts once (event_id), as in
-- daily_traffic.
create table if not exists realtime_minute (
  minute           timestamptz primary key,
  events           integer not null,
  active_users     integer not null,             -- distinct users with any event in the minute
  orders           integer not null,             -- 'order' events
  sessions_viewed  integer not null,
  sessions_ordered integer not null,
  conversion       numeric(9, 4),                -- sessions_ordered / sessions_viewed; null without views
  refreshed_at     timestamptz not null default now(),
  evaluated_at     timestamptz                   -- spike evaluation of the closed minute; null: pending
);
create index if not exists realtime_minute_pending on realtime_minute (minute) where evaluated_at is null;

create table if not exists realtime_minute_events (
  minute     timestamptz not null,
  event_name text not null,
  events     integer not null,
  primary key (minute, event_name)
);

-- Sessions (keyed pseudonyms) that viewed or ordered in a minute: distinct sessions over a rolling
-- hour cannot be summed from per-minute counts, so the hour is counted from these.
create table if not exists realtime_minute_sessions (
  minute      timestamptz not null,
  session_key text not null,
  viewed      boolean not null,
  ordered     boolean not null,
  primary key (minute, session_key)
);

-- Per Kafka partition, the offset below which every event is visible in the tables above.
create table if not exists realtime_visible (
  topic        text not null,
  partition    integer not null,
  next_offset  bigint not null,
  refreshed_at timestamptz not null default now(),
  primary key (topic, partition)
);

-- Spike alerts and their webhook outbox. One row per (event type, first minute of the spike);
-- consecutive anomalous minutes extend last_minute instead of raising another alert.
create table if not exists realtime_alerts (
  alert_id        text primary key,              -- '<event_name>/<minute ISO>'
  event_name      text not null,
  minute          timestamptz not null,
  last_minute     timestamptz not null,
  observed        integer not null,
  expected        numeric(12, 2) not null,
  score           numeric(12, 2) not null,
  peak            integer not null,
  raised_at       timestamptz not null default now(),
  sent_at         timestamptz,                   -- set in the transaction that saw the webhook accept it
  attempts        integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error      text,
  given_up_at     timestamptz,                   -- a permanent (4xx) webhook answer
  unique (event_name, minute)
);
create index if not exists realtime_alerts_unsent on realtime_alerts (next_attempt_at) where sent_at is null and given_up_at is null;

-- realtime_rolling_hour: moved to sql/analytics/code/050_realtime_views.sql, which holds the current definition (see lib/migrate.ts).

grant select on realtime_minute, realtime_minute_events, realtime_alerts to etl_analyst, etl_analyst_pii;
