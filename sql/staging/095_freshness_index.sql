-- The freshness check and /metrics read each pipeline's newest successful window or load
-- (activities/monitor/freshness.ts) every few minutes; etl.loads gains a row per events range.
create index if not exists loads_pipeline_fresh on etl.loads (pipeline, partition_end) where status = 'succeeded';
create index if not exists loads_pipeline_finished on etl.loads (pipeline, finished_at) where status = 'succeeded';
