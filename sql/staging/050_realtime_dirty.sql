-- Minutes of event time that a committed events load touched and whose per-minute metrics in the
-- analytics database have not been recomputed since. Written by the events batch hook in the
-- load's own transaction (so a mark exists if and only if the events committed), deleted by the
-- realtime refresh after analytics committed the recomputed minute. One row per (minute, load):
-- concurrent partition loads never contend on a hot minute's row.
create table if not exists etl.realtime_dirty (
  minute      timestamptz not null,
  load_id     text not null,
  topic       text not null,
  partition   integer not null,
  last_offset bigint not null,                 -- the load's last Kafka offset: visibility watermark
  marked_at   timestamptz not null default now(),
  primary key (minute, load_id)
);
