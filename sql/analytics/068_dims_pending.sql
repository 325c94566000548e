-- Dimension rows that date loads inferred (work.infer_dimensions) and that no curated dimension
-- snapshot has covered yet. A date load writes its mark in its own transaction, so a load whose
-- result was lost (a retry after its commit) or a run that failed before its snapshot leaves the
-- mark for the next run; the snapshot (activities/transform/lake.ts) deletes the marks it saw.
create table if not exists work.dims_pending (
  id        bigserial primary key,
  load_date date not null,
  rows      integer not null,             -- dimension rows the load inserted or renamed
  marked_at timestamptz not null default now()
);
