-- Every failed partition of a backfill (issue 19). The backfill workflow carries only its counts and
-- its first failures across continue-as-new, so its payloads stay small whatever fails; the whole
-- list is written here by an activity, once per run of the chain. run_id is the chain's first run,
-- so a backfill started again under the same id starts a list of its own.
create table if not exists etl.backfill_failures (
  backfill_id  text not null,
  run_id       text not null,
  workflow_id  text not null,
  error        text not null,
  recorded_at  timestamptz not null default now(),
  primary key (backfill_id, run_id, workflow_id)
);
