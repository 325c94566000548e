-- work.events is partitioned by event_date, one partition per date in the schema `work`
-- (work.events_YYYYMMDD), as fact_event is since 071 (issue 11). The extract merged a busy hour's
-- 931k events into one table holding every date, through its primary key and its date index:
-- 6.5–7.0 s in psql (the extract's own statement, the bench day). A date seen for the first time
-- now gets its partition built apart: the rows inserted into a table of their own, the key built
-- after them, attached (3.6 s for the same rows, psql). Later windows of the date insert into its
-- partition as before (ON CONFLICT DO NOTHING), through one index of that date's rows only; the
-- date loads read one partition instead of the date index of the whole table.
-- event_date is a plain column now (a partition key cannot be a generated column); the CHECK below
-- keeps it the UTC date of ts, as the generated column did. The key holds event_date too (a
-- partitioned table's keys must): event_id stays unique, since staging keeps one row per event_id
-- (its key) and ts is never cleaned, so an event's date never changes.
-- There is no default partition: a date load of a date that has no partition yet reads nothing
-- and locks nothing of it, while an extract builds it. A row of a date without its partition
-- cannot be inserted by hand; `select work.add_event_partitions(array['2024-01-01'::date])` makes
-- empty ones (sql/analytics/code/020_load_facts.sql).
-- Upgrading: this migration copies every stored work event into the new table in one transaction,
-- holding a few locks per date to its end: raise max_locks_per_transaction first when work.events
-- holds years of dates (docs/scaling.md; the project's own server runs with 256). Stop the workers first (a worker still running the old code would insert into a table without
-- event_date), have room for a second copy of work.events, then `etl db migrate` and start the
-- workers of this release.
create table work.events_by_date (
  event_id    text not null,
  event_name  text not null,
  customer_id text not null,                   -- pseudonym
  session_id  text not null,
  product_id  text,
  order_id    text,
  price       numeric(14, 2),
  ts          timestamptz not null,
  event_date  date not null,                   -- UTC date of ts
  constraint events_by_date_pkey primary key (event_date, event_id),
  constraint events_event_date check (event_date = (ts at time zone 'UTC')::date)
) partition by list (event_date);

do $$
declare d date;
begin
  for d in select distinct event_date from work.events order by 1 loop
    execute format('create table work.%I partition of work.events_by_date for values in (%L)', 'events_' || to_char(d, 'YYYYMMDD'), d);
  end loop;
end $$;
-- In key order, as the extract stores a date's rows (the date loads read them in that order).
insert into work.events_by_date (event_id, event_name, customer_id, session_id, product_id, order_id, price, ts, event_date)
select event_id, event_name, customer_id, session_id, product_id, order_id, price, ts, event_date from work.events order by event_date, event_id;

drop table work.events;
alter table work.events_by_date rename to events;
alter table work.events rename constraint events_by_date_pkey to events_pkey;

-- Each date's statistics now, not at autovacuum's next look: the next loads plan with them.
do $$
declare p regclass;
begin
  for p in select inhrelid::regclass from pg_inherits where inhparent = 'work.events'::regclass loop
    execute format('analyze %s', p);
  end loop;
end $$;
