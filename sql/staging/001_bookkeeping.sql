-- Pipeline bookkeeping: loads, incremental state, Kafka offsets, loaded files, quarantine.
-- Every load has an id; a load recorded as succeeded is never applied twice.
create schema if not exists etl;

create table if not exists etl.loads (
  load_id         text primary key,              -- '<workflowId>/<activity>[/<part>]'
  pipeline        text not null,                 -- orders | catalog | files | events | smoke
  source          text not null,                 -- orders_api | products | users | inventory | reviews | purchases | events | ...
  partition_start timestamptz,
  partition_end   timestamptz,
  status          text not null check (status in ('running', 'succeeded', 'failed')),
  received        integer not null default 0,
  loaded          integer not null default 0,
  quarantined     integer not null default 0,
  duplicates      integer not null default 0,
  started_at      timestamptz not null default now(),
  finished_at     timestamptz,
  detail          jsonb not null default '{}'::jsonb,
  -- received = loaded + quarantined + duplicates, always.
  constraint loads_reconcile check (status <> 'succeeded' or received = loaded + quarantined + duplicates)
);
create index if not exists loads_pipeline_partition on etl.loads (pipeline, partition_start);

-- Incremental read state: the cursor column and the last value read, per pipeline and source.
create table if not exists etl.cursors (
  pipeline      text not null,
  source        text not null,
  cursor_column text not null,
  last_value    text not null,
  updated_at    timestamptz not null default now(),
  primary key (pipeline, source)
);

-- Kafka offsets are committed here, in the same transaction as the rows (exactly once into staging).
create table if not exists etl.kafka_offsets (
  consumer_group text not null,
  topic          text not null,
  partition      integer not null,
  next_offset    bigint not null,
  updated_at     timestamptz not null default now(),
  primary key (consumer_group, topic, partition)
);

-- Each dropped file is loaded exactly once: keyed by object key and ETag.
create table if not exists etl.files (
  object_key text not null,
  etag       text not null,
  load_id    text not null references etl.loads (load_id),
  loaded_at  timestamptz not null default now(),
  primary key (object_key, etag)
);

-- Every rejected record, with its reason and the raw text, so nothing is lost.
create table if not exists etl.quarantine (
  id             bigserial primary key,
  load_id        text not null,
  source         text not null,
  record_ref     text not null,                -- e.g. 'drop/purchases/x.csv:17' or 'events/p2@1234'
  reason         text not null,
  raw            text not null,
  quarantined_at timestamptz not null default now(),
  unique (load_id, record_ref)
);
create index if not exists quarantine_source on etl.quarantine (source, quarantined_at);
