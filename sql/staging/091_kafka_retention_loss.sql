-- Kafka retention can delete messages before the stream reads them (a stream stopped longer than
-- the topic's retention.ms). Such a range is lost for good: the load that moves past it counts it in
-- etl.loads.lost (received = loaded + quarantined + duplicates still holds: lost messages were never
-- received), and a 'data_lost' alert names the partition and the offsets.
alter table etl.loads add column if not exists lost bigint not null default 0;
alter table etl.alerts drop constraint if exists alerts_kind_check;
alter table etl.alerts add constraint alerts_kind_check check (kind in ('failed', 'slow', 'bad_input', 'schedule_backlog', 'schedule_dropped', 'data_lost'));
