-- work.refresh_metrics: the date-partitioned metric tables of one date (tables in 004_metrics_daily.sql).
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- work.refresh_customer_days: customer_order_days and customer_order_gaps (067_dashboard_orders.sql)
-- of one date, from order_values. A customer who starts or stops ordering on d also changes the
-- previous-order day of their next order day, which is another date's: so dates take their turn
-- here (a transaction lock; each statement after it sees the dates committed before), and every
-- date whose links moved is counted again. The next order day of a customer is the row whose
-- prev_date is d (or, for one new on d, the one whose prev_date was the customer's last day before d).
-- Run after work.refresh_metrics(d) (which fills order_values), as the last step before the commit:
-- the lock is held until then (activities/transform/load.ts runs it after the data checks).
create or replace function work.refresh_customer_days(d date) returns void language plpgsql as $f$
declare
  touched date[];
begin
  perform pg_advisory_xact_lock(hashtext('customer-order-days'));
  -- The customers who stopped and started ordering on d are set differences (EXCEPT hashes or
  -- sorts), not anti-joins: on statistics that had not seen the new rows the planner estimated a
  -- few hundred customers and checked each of 30k against every other in a nested loop (66 s of an
  -- hourly run at scale 10, auto_explain; issue 11). The customers who stopped are MATERIALIZED:
  -- inlined into the delete's join, the EXCEPT was the inner side of a nested loop over the date's
  -- 30k rows and ran once per row (11.6 s of an hourly run, auto_explain, stop 33; 12.0 s against
  -- 35 ms in psql on a date the statistics had not seen).
  with now_ as (select distinct country, customer_id from order_values where order_date = d),
  was as (select country, customer_id from customer_order_days where order_date = d),
  gone_keys as materialized (select country, customer_id from was except select country, customer_id from now_),
  new_keys as (select country, customer_id from now_ except select country, customer_id from was),
  gone as (
    delete from customer_order_days x using gone_keys g
    where x.order_date = d and x.country = g.country and x.customer_id = g.customer_id
    returning x.country, x.customer_id, x.prev_date),
  relinked_gone as (
    update customer_order_days y set prev_date = g.prev_date from gone g
    where y.country = g.country and y.customer_id = g.customer_id and y.prev_date = d
    returning y.order_date),
  added as (
    insert into customer_order_days (country, customer_id, order_date, prev_date)
    -- `+ 0` leaves the primary key (country, customer_id, …) as the only index that fits: with the
    -- date index the planner could take the latest row before d by a backward scan of every
    -- customer's days, filtered. It did, on statistics that had not seen the new date yet: 23.8 s
    -- for 30k customers at scale 10 (issue 11, auto_explain), against well under a second by key.
    select n.country, n.customer_id, d,
           (select max(z.order_date + 0) from customer_order_days z where z.country = n.country and z.customer_id = n.customer_id and z.order_date + 0 < d)
    from new_keys n
    returning country, customer_id, prev_date),
  relinked_added as (
    update customer_order_days y set prev_date = d from added a
    where y.country = a.country and y.customer_id = a.customer_id and y.order_date > d and y.prev_date is not distinct from a.prev_date
    returning y.order_date)
  select array_agg(distinct t) into touched
  from (select order_date from relinked_gone union all select order_date from relinked_added union all select d) x(t);

  delete from customer_order_gaps where order_date = any(touched);
  insert into customer_order_gaps (order_date, country, gap, customers)
  select order_date, country, coalesce(order_date - prev_date, 0), count(*)
  from customer_order_days where order_date = any(touched) group by 1, 2, 3;
end
$f$;

-- PL/pgSQL, each statement planned for its date (force_custom_plan): fact_event is partitioned by
-- date (071), and a plan made for an unknown date keeps every partition and locks each with its
-- four indexes, 5,482 locks a call at 1,095 dates (psql), where the shared lock table holds
-- max_locks_per_transaction × max_connections (12,800 by default). Planned for the date, it locks one.
-- An order is counted by the text `source || ':' || order_id` (injective: source is 'api' or
-- 'file', fact_order_line's check), not by the row (source, order_id): a distinct count compares
-- rows column by column through the record type's comparison: sales_daily_segment of a busy
-- scale-10 date took 0.35 s this way against 0.86 s, with equal rows (`npx tsx bench/load-statements.ts`).
create or replace function work.refresh_metrics(d date) returns void language plpgsql set plan_cache_mode = force_custom_plan as $$
begin
  delete from orders_by_date where order_date = d;
  insert into orders_by_date (order_date, orders, revenue)
  select d, count(distinct source || ':' || order_id), coalesce(sum(amount) filter (where not cancelled), 0)
  from fact_order_line where order_date = d
  having count(*) > 0;

  delete from daily_traffic where event_date = d;
  insert into daily_traffic (event_date, event_name, events)
  select d, event_name, count(*) from fact_event where event_date = d group by event_name;

  delete from product_sales_daily where order_date = d;
  insert into product_sales_daily (order_date, product_id, orders, units, revenue)
  select d, product_id, count(distinct source || ':' || order_id), sum(quantity), sum(amount)
  from fact_order_line where order_date = d and not cancelled group by product_id;

  delete from product_events_daily where event_date = d;
  -- Per customer first, then per product and event: the distinct count becomes a row count of
  -- hashed groups (1.2 s against 1.8 s on a busy scale-10 date, psql, equal rows; issue 11).
  insert into product_events_daily (event_date, product_id, event_name, events, users)
  select d, product_id, event_name, sum(n), count(*)
  from (select product_id, event_name, customer_id, count(*) as n
        from fact_event where event_date = d and product_id is not null group by product_id, event_name, customer_id) x
  group by product_id, event_name;

  -- The dashboard's segments (064_dashboard_segments.sql): every (category, country) and roll-up.
  delete from sales_daily_segment where order_date = d;
  insert into sales_daily_segment (order_date, category, country, orders, kept_orders, units, revenue)
  select d, case when grouping(p.category_key) = 1 then '*' else coalesce(p.category_key, '(none)') end,
         case when grouping(c.country) = 1 then '*' else coalesce(c.country, '(unknown)') end,
         count(distinct f.source || ':' || f.order_id), count(distinct f.source || ':' || f.order_id) filter (where not f.cancelled),
         coalesce(sum(f.quantity) filter (where not f.cancelled), 0), coalesce(sum(f.amount) filter (where not f.cancelled), 0)
  from fact_order_line f left join dim_product p using (product_id) left join dim_customer c using (customer_id)
  where f.order_date = d
  group by grouping sets ((p.category_key, c.country), (p.category_key), (c.country), ())
  having count(*) > 0;

  -- The date's visitors, their funnel steps and their countries, from one pass over the date's
  -- events: one row per customer (the CTE is computed once). Three distinct counts over the events
  -- took 1.8 s of a busy scale-10 date; this takes about a third of that (issue 11, psql).
  delete from daily_unique_visitors where event_date = d;
  delete from funnel_daily where event_date = d;
  delete from visitors_daily_country where event_date = d;
  with v as (
    select customer_id, bool_or(event_name = 'view') as viewed, bool_or(event_name = 'add_to_cart') as carted,
           bool_or(event_name = 'order') as bought
    from fact_event where event_date = d group by customer_id
  ), visitors as (
    insert into daily_unique_visitors (event_date, visitors) select d, count(*) from v having count(*) > 0
  ), funnel as (
    insert into funnel_daily (event_date, viewers, add_to_cart_users, buyers)
    select d, count(*) filter (where viewed), count(*) filter (where carted), count(*) filter (where bought) from v having count(*) > 0
  )
  insert into visitors_daily_country (event_date, country, visitors)
  select d, case when grouping(c.country) = 1 then '*' else coalesce(c.country, '(unknown)') end, count(*)
  from v left join dim_customer c using (customer_id)
  group by grouping sets ((c.country), ())
  having count(*) > 0;

  -- The country and high-value panels' tables (067_dashboard_orders.sql).
  delete from order_values where order_date = d;
  insert into order_values (order_date, source, order_id, customer_id, country, amount)
  select d, o.source, o.order_id, o.customer_id, c.country, o.amount
  from (select source, order_id, customer_id, sum(amount) as amount from fact_order_line
        where order_date = d and not cancelled group by source, order_id, customer_id) o
  join dim_customer c using (customer_id);

  -- customer_order_days and customer_order_gaps come from order_values in work.refresh_customer_days(d),
  -- which its caller runs last before the commit (its lock orders the dates: held briefly).
end $$;

-- work.refresh_inventory: inventory_latest and inventory_monthly (065_inventory_current.sql) of the
-- given products, recomputed from all their versions; run by the inventory extract after its merge.
create or replace function work.refresh_inventory(products text[]) returns void language sql as $$
  delete from inventory_latest where product_id = any(products);
  insert into inventory_latest (product_id, warehouse, stock_level, updated_at)
  select distinct on (product_id, warehouse) product_id, warehouse, stock_level, updated_at
  from work.inventory where product_id = any(products) order by product_id, warehouse, updated_at desc;

  delete from inventory_monthly where product_id = any(products);
  insert into inventory_monthly (product_id, warehouse, month, avg_level, levels)
  select product_id, warehouse, date_trunc('month', updated_at at time zone 'UTC')::date, avg(stock_level), count(*)
  from work.inventory where product_id = any(products) group by 1, 2, 3;
$$;
