-- Event-time watermark per Kafka partition: the latest minute among the loads made visible. A
-- topic's watermark is the minimum over its partitions, so a partition that lags behind (a replayed
-- backlog is read partition by partition in equal shares) keeps its minutes open until it catches up.
alter table realtime_visible add column if not exists max_minute timestamptz;
