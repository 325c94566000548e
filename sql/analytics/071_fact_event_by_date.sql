-- fact_event is partitioned by event_date, one partition per date in the schema `partitions`
-- (issue 11). A new date's events were inserted into one table that holds every date, through its
-- four B-tree indexes: 6.3–8.6 s for a busy date at scale 10 (931k events, psql, next to one other
-- date). Built as a table of its own, indexed after the insert, the same rows took 2.5 s. So the
-- first load of a date (work.load_events, sql/analytics/code/020_load_facts.sql) builds its
-- partition that way and attaches it; later loads of the date insert into it as before.
-- The primary key now holds event_date too (a partitioned table's keys must): event_id stays
-- unique, since fact_event holds work.events' rows (keyed by event_id) under their own date.
-- A date with no partition cannot take a row, so there is no default partition: attaching a date
-- beside one would scan it and lock it against every reader until the load commits.
-- Upgrading: this migration copies every stored event into the new table in one transaction and
-- holds fact_event (and its views) locked meanwhile; at scale 10 that is about a million rows per
-- date stored. Stop the workers first (a worker still running the old code would load a new date
-- into a table without its partition, and fail), have room for a second copy of fact_event, then
-- run `etl db migrate` and start the workers of this release. Raise max_locks_per_transaction on
-- the server (docs/transform.md): the project's own server runs with 256.
create schema if not exists partitions;
revoke all on schema partitions from public;

create table fact_event_by_date (
  event_date  date not null,                   -- UTC date of ts
  event_id    text not null,
  event_name  text not null,
  customer_id text not null,
  session_id  text not null,
  product_id  text,
  order_id    text,
  price       numeric(14, 2),
  ts          timestamptz not null,
  constraint fact_event_by_date_pkey primary key (event_date, event_id)
) partition by list (event_date);

do $$
declare d date;
begin
  for d in select distinct event_date from fact_event order by 1 loop
    execute format('create table partitions.%I partition of fact_event_by_date for values in (%L)', 'fact_event_' || to_char(d, 'YYYYMMDD'), d);
  end loop;
end $$;
insert into fact_event_by_date select event_date, event_id, event_name, customer_id, session_id, product_id, order_id, price, ts from fact_event;

-- The views that read fact_event (user_behavior, customers, avg_spend_per_session and the views on
-- them) are code/'s: they go with the old table, and forgetting code/'s checksums makes this same
-- `etl db migrate` re-apply all of code/ right after the versioned files.
drop table fact_event cascade;
do $$ begin
  if to_regclass('public.schema_code') is not null then delete from public.schema_code; end if;
end $$;
alter table fact_event_by_date rename to fact_event;
alter table fact_event rename constraint fact_event_by_date_pkey to fact_event_pkey;

-- The indexes of sql/analytics/007, on every partition.
create index fact_event_customer on fact_event (customer_id);
create index fact_event_date_name on fact_event (event_date, event_name);
create index fact_event_order_sessions on fact_event (customer_id, session_id) include (price) where event_name = 'order';

grant select on fact_event to etl_analyst, etl_analyst_pii;
