-- The wiring check writes here: one row per run, read back by the same run.
create table if not exists etl.smoke (
  run_id     text primary key,
  payload    text not null,
  written_at timestamptz not null default now()
);
