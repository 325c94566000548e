-- Bad input that is recorded rather than loaded (issue 9):
-- * a dropped object the files pipeline does not take (unknown extension) is a load with status
--   'ignored', so it is visible in `etl runs` and never silently skipped;
-- * an alert of kind 'bad_input' tells a person about it, and about Kafka offsets that keep failing.
-- * a purchase line corrected by a later file replaces the older one; `updated` counts those.
alter table etl.loads drop constraint if exists loads_status_check;
alter table etl.loads add constraint loads_status_check check (status in ('running', 'succeeded', 'failed', 'ignored'));

alter table etl.alerts drop constraint if exists alerts_kind_check;
alter table etl.alerts add constraint alerts_kind_check check (kind in ('failed', 'slow', 'bad_input'));

alter table staging.purchases add column if not exists file_modified_at timestamptz;
