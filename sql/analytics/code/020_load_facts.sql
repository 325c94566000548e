-- work.infer_dimensions and work.load_facts: the facts of one date, rebuilt from the work layer.
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- Rebuilds the facts of one date from the work layer (order lines whole, events brought up to it).
-- Called once per affected date, inside the transaction that also rebuilds that date's metrics, so
-- a re-run leaves identical rows.

-- Dimensions first: a product or customer that facts mention but the catalog has not delivered yet
-- gets an inferred row (replaced when the real one arrives), so enrichment never drops a fact.
-- PL/pgSQL with custom plans, so each query is planned for this d and reads (and locks) the date's
-- partition of work.events only: as a SQL function it planned d as an unknown value and locked every
-- date's partition and key (11 locks with 5 dates; sql/analytics/073).
create or replace function work.infer_dimensions(d date) returns void language plpgsql set plan_cache_mode = force_custom_plan as $$
begin
  insert into dim_product (product_id, product_name, category, category_key, inferred)
  select p.product_id, max(p.product_name), 'Uncategorised', 'uncategorised', true
  from (
    select l.product_id, null::text as product_name from work.orders o
      join work.order_lines l using (order_id, updated_at) where o.created_date = d
    -- Every line of a file order dated d, whatever its own OrderDate: load_facts puts them all under d.
    union all select product_id, work.norm_text(product_name) from work.purchases
      where order_id in (select order_id from work.purchases where order_date = d)
    union all select product_id, null from work.events where event_date = d and product_id is not null
  ) p
  -- A catalogued product is never changed here, so it is not offered: ON CONFLICT DO UPDATE locks
  -- the row it meets even when its WHERE refuses the update, and two dates loading at once then
  -- waited on each other's products until the first committed (8.9 s of an hourly run at scale 10).
  where not exists (select 1 from dim_product x where x.product_id = p.product_id and not x.inferred)
  group by p.product_id
  order by p.product_id
  -- An inferred product takes the greatest name any date's purchase lines give it, however late
  -- that line arrives (greatest() passes over nulls); a catalogued product is left alone.
  on conflict (product_id) do update set product_name = greatest(dim_product.product_name, excluded.product_name)
  where dim_product.inferred and excluded.product_name is not null
    and excluded.product_name is distinct from dim_product.product_name;

  insert into dim_customer (customer_id, country, inferred)
  select c.customer_id, 'unknown', true
  from (
    select customer_id from work.orders where created_date = d
    -- The order's customer is min(customer_id) over all its lines (load_facts), of whatever date.
    union select customer_id from work.purchases where order_id in (select order_id from work.purchases where order_date = d)
    union select customer_id from work.events where event_date = d
  ) c
  -- Only the missing ones: the others would conflict and do nothing, after a wait when another
  -- date's load inserted the same customer and has not committed yet.
  where not exists (select 1 from dim_customer x where x.customer_id = c.customer_id)
  order by 1
  on conflict (customer_id) do nothing;
end $$;

-- The partition of work.events holding date d (sql/analytics/073), in the schema work. The extract
-- builds a new date's partition with its rows (activities/transform/extract.ts, mergePartitioned).
create or replace function work.events_partition(d date) returns text language sql immutable as $$
  select 'events_' || to_char(d, 'YYYYMMDD')
$$;

-- The steps of a new partition of work.events, shared by the extract (which fills each new date's
-- table between `new_event_partition` and `attach_event_partition`) and add_event_partitions.
-- The dates of ds that have no partition: pg_class read in this statement's snapshot (to_regclass
-- may answer from a cache that has not seen the commit of an extract that held the date's lock).
create or replace function work.missing_event_partitions(ds date[]) returns setof date language sql as $$
  select distinct x from unnest(ds) x
  where x is not null
    and not exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'work' and c.relname = work.events_partition(x))
  order by 1
$$;

-- The dates' locks, all of them in order: an attach holds its lock on work.events to the commit, so
-- a transaction takes every date's lock before its first attach, and two never build one date.
create or replace function work.lock_event_partitions(ds date[]) returns void language plpgsql as $$
begin
  perform pg_advisory_xact_lock(hashtext('work.events-partition:' || to_char(x, 'YYYY-MM-DD')))
  from (select distinct x from unnest(ds) x where x is not null order by 1) t;
end $$;

-- A table for date d shaped like work.events, not yet a partition; returns its qualified name.
create or replace function work.new_event_partition(d date) returns text language plpgsql as $$
begin
  execute format('create table work.%I (like work.events including constraints)', work.events_partition(d));
  return 'work.' || work.events_partition(d);
end $$;

-- Keys, analyzes (the date's load reads it next) and attaches the table new_event_partition made,
-- filled or empty. The CHECK on the date spares the attach its scan of the rows.
create or replace function work.attach_event_partition(d date) returns void language plpgsql as $$
declare
  part text := work.events_partition(d);
begin
  execute format('alter table work.%I add constraint %I check (event_date = %L)', part, part || '_date', d);
  execute format('alter table work.%I add primary key (event_date, event_id)', part);
  execute format('analyze work.%I', part);
  execute format('alter table work.events attach partition work.%I for values in (%L)', part, d);
end $$;

-- Empty partitions of work.events for the dates that have none, for rows inserted by hand (a date
-- without its partition takes no row): the extract builds its own, full, and needs none of these.
create or replace function work.add_event_partitions(ds date[]) returns void language plpgsql as $$
declare
  d date;
begin
  perform work.lock_event_partitions(ds);
  for d in select x from work.missing_event_partitions(ds) x loop
    perform work.new_event_partition(d);
    perform work.attach_event_partition(d);
  end loop;
end $$;

-- The partition of fact_event holding date d (sql/analytics/071).
create or replace function work.event_partition(d date) returns text language sql immutable as $$
  select 'fact_event_' || to_char(d, 'YYYYMMDD')
$$;

-- fact_event's own indexes (071, and any added since), as its catalog defines them, built on
-- `target` (a table shaped like it) after its rows are in: a new date's partition, whose attach
-- then adopts them instead of building them inside its lock (and bench/transform-compare.ts's floor).
create or replace function work.build_fact_event_indexes(target regclass) returns void language plpgsql as $$
declare
  ix record;
begin
  for ix in select pg_get_indexdef(i.indexrelid) as def, pg_get_constraintdef(c.oid) as con
            from pg_index i left join pg_constraint c on c.conindid = i.indexrelid and c.conrelid = i.indrelid
            where i.indrelid = 'public.fact_event'::regclass loop
    if ix.con is not null then
      execute format('alter table %s add %s', target, ix.con);
    else
      execute regexp_replace(ix.def, '^CREATE (UNIQUE )?INDEX \S+ ON ONLY \S+ ', format('CREATE \1INDEX ON %s ', target));
    end if;
  end loop;
end $$;

-- Brings date d of fact_event up to the work layer; true when it built the date's partition.
-- A date seen for the first time gets its partition built apart: the rows inserted into a table of
-- their own, indexed after the insert, analyzed (the statements after this one plan the date with
-- its statistics) and then attached. A busy date at scale 10 (931k events) took 6.3–8.6 s through
-- the indexes of a table holding every date, and 2.5 s so (psql; docs/transform.md). Attaching
-- takes a SHARE UPDATE EXCLUSIVE lock on fact_event until the commit: it lets the dashboard read
-- and other dates write, but a second new date's attach waits for this transaction. The date's
-- advisory lock (loadDate) keeps two loads of one date from both building its partition.
create or replace function work.load_events(d date) returns boolean language plpgsql set plan_cache_mode = force_custom_plan as $$
declare
  part text := work.event_partition(d);
  cols text := 'event_date, event_id, event_name, customer_id, session_id, product_id, order_id, price, ts';
begin
  if to_regclass(format('partitions.%I', part)) is null then
    if not exists (select 1 from work.events where event_date = d) then return false; end if;
    execute format('create table partitions.%I (like fact_event)', part);
    execute format('insert into partitions.%I (%s) select %s from work.events where event_date = $1', part, cols, cols) using d;
    -- It lets the attach skip its scan of the rows.
    execute format('alter table partitions.%I add constraint %I check (event_date = %L)', part, part || '_date', d);
    perform work.build_fact_event_indexes(format('partitions.%I', part)::regclass);
    execute format('analyze partitions.%I', part);
    execute format('alter table fact_event attach partition partitions.%I for values in (%L)', part, d);
    return true;
  end if;
  -- Events are brought up to the work layer, not rebuilt: a row of work.events never changes (its
  -- merge is ON CONFLICT DO NOTHING, and its date comes from its ts), so only the date's events not
  -- yet in fact_event are inserted. A busy date's hourly rebuild at scale 10 (929k events) took
  -- 19.5 s as delete + insert, and takes about 0.9 s when nothing is new (docs/transform.md).
  insert into fact_event (event_date, event_id, event_name, customer_id, session_id, product_id, order_id, price, ts)
  select w.event_date, w.event_id, w.event_name, w.customer_id, w.session_id, w.product_id, w.order_id, w.price, w.ts
  from work.events w
  where w.event_date = d and not exists (select 1 from fact_event f where f.event_date = d and f.event_id = w.event_id);
  -- The date now holds every event of the work layer; more rows than that means some were deleted
  -- there (by hand: nothing in the pipeline deletes an event), and those go. Counting both sides
  -- is two index scans; the anti-join runs only when the counts differ.
  delete from fact_event f
  where f.event_date = d
    and (select count(*) from fact_event where event_date = d) > (select count(*) from work.events where event_date = d)
    and not exists (select 1 from work.events w where w.event_date = d and w.event_id = f.event_id);
  return false;
end $$;

-- work.load_facts, corrected: an order that now belongs to date d may still have lines under the
-- date it had before (its earliest purchase line arrived after the first rebuild, moving the
-- order's date earlier; or an API version changed created_at). Rebuilding d first inserted the
-- order again and collided on fact_order_line's key (seen when two transform hours of one day ran
-- at once). Now the order's old lines are deleted wherever they sit before it is inserted under d;
-- the old date is among the run's affected dates, so its metrics are rebuilt too.
create or replace function work.load_facts(d date) returns void language sql as $$
  delete from fact_order_line where order_date = d;

  with latest as (
    select distinct on (o.order_id) o.order_id, o.updated_at, o.customer_id, o.status, o.created_date
    from work.orders o
    where o.order_id in (select order_id from work.orders where created_date = d)
    order by o.order_id, o.updated_at desc
  )
  delete from fact_order_line f using latest v
  where f.source = 'api' and f.order_id = v.order_id and v.created_date = d;

  with latest as (
    select distinct on (o.order_id) o.order_id, o.updated_at, o.customer_id, o.status, o.created_date
    from work.orders o
    where o.order_id in (select order_id from work.orders where created_date = d)
    order by o.order_id, o.updated_at desc
  )
  insert into fact_order_line (order_date, source, order_id, line_no, customer_id, product_id, quantity, unit_price, amount, status, cancelled)
  select v.created_date, 'api', v.order_id, l.line_no, v.customer_id, l.product_id, l.quantity, l.unit_price,
         l.quantity * l.unit_price, v.status, v.status = 'cancelled'
  from latest v join work.order_lines l on l.order_id = v.order_id and l.updated_at = v.updated_at
  where v.created_date = d;

  with orders as (
    select order_id, min(order_date) as order_date, min(customer_id) as customer_id
    from work.purchases
    where order_id in (select order_id from work.purchases where order_date = d)
    group by order_id
  )
  delete from fact_order_line f using orders o
  where f.source = 'file' and f.order_id = o.order_id and o.order_date = d;

  with orders as (
    select order_id, min(order_date) as order_date, min(customer_id) as customer_id
    from work.purchases
    where order_id in (select order_id from work.purchases where order_date = d)
    group by order_id
  )
  insert into fact_order_line (order_date, source, order_id, line_no, customer_id, product_id, quantity, unit_price, amount, status, cancelled)
  select o.order_date, 'file', p.order_id, row_number() over (partition by p.order_id order by p.product_id)::int,
         o.customer_id, p.product_id, p.quantity, p.price, p.quantity * p.price, 'purchased', false
  from orders o join work.purchases p using (order_id)
  where o.order_date = d;

  -- Events: work.load_events (above).
  select work.load_events(d);

  -- Kept but suspicious: purchase lines whose Total disagrees with Quantity x Price.
  delete from dq_findings where finding_date = d;
  insert into dq_findings (finding_date, source, kind, records)
  select d, 'purchases', 'total_mismatch', count(*) from work.purchases where order_date = d and total_mismatch
  having count(*) > 0
  union all
  select d, 'dimensions', 'inferred_product', count(distinct f.product_id)
  from fact_order_line f join dim_product p using (product_id) where f.order_date = d and p.inferred
  having count(distinct f.product_id) > 0;
$$;
