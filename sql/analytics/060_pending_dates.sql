-- Dates whose work-layer rows changed and whose analytics and curated copies are not rebuilt yet
-- (issue 11: a transform run rebuilds only dates whose input changed). An extract marks the dates
-- its merged rows touch, in its own transaction; a date's rebuild clears the marks its load could
-- see (committed before the load began: pg_visible_in_snapshot), once its curated copy is written.
-- A run that failed in between leaves its marks, and the next run rebuilds those dates. Insert-only,
-- with no key, so extracts of one run never wait on each other's marks.
create table if not exists work.pending_dates (
  date      date not null,
  xid       xid8 not null default pg_current_xact_id(),
  load_id   text not null,
  marked_at timestamptz not null default now()
);
create index if not exists pending_dates_date on work.pending_dates (date);
