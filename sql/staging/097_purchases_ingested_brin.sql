-- staging.purchases' ingested_at index serves the transform's window, "arrived (ingested_at) or
-- happened (order_date) in [from, to)" (activities/transform/sources.ts), a BitmapOr of two range
-- scans. (The rebuild's min/max(ingested_at) now reads the table whole, as it reads order lines and
-- reviews; it heartbeats meanwhile, activities/rebuild/index.ts.) ingested_at is the loading transaction's now(), so it follows the heap's
-- order: a BRIN index answers that range at a few kilobytes, where the B-tree cost every COPY a
-- descent and WAL per row (bench/files-stages.ts, alternating, 200,000 lines: the pipeline 2.00 and
-- 2.10 s against 2.26 and 2.35 s; docs/ingestion.md). A row updated by a corrected file gets a new
-- ingested_at; if its new version lands in an old page, that range's summary stretches to the
-- update's time: the windows covering that time (an hourly run and the two after it, which look
-- back 2 hours) read the range, later ones start after it. A backfill window between the range's
-- oldest row and the correction reads it too, so a large corrected re-export makes backfills of
-- its span read most of the table, not the scheduled runs. Ranges not yet summarised (the newest
-- pages, until autovacuum or autosummarize gets to them) match every window: they hold the newest
-- rows, which the window reads anyway. This file drops and builds the index in one transaction,
-- holding staging.purchases' lock for one scan of it: apply it with the loaders paused. order_date keeps
-- its B-tree: a file's dates are the user's (a re-export spanning months, an outlier year) and a
-- block range's minimum and maximum would make every window read such ranges (stop 37).
drop index if exists staging.purchases_ingested_at;
create index if not exists purchases_ingested_at_brin on staging.purchases using brin (ingested_at) with (autosummarize = on);
