-- work.refresh_metrics: the date-partitioned metric tables of one date (tables in 004_metrics_daily.sql).
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

create or replace function work.refresh_metrics(d date) returns void language sql as $$
  delete from orders_by_date where order_date = d;
  insert into orders_by_date (order_date, orders, revenue)
  select d, count(distinct (source, order_id)), coalesce(sum(amount) filter (where not cancelled), 0)
  from fact_order_line where order_date = d
  having count(*) > 0;

  delete from daily_traffic where event_date = d;
  insert into daily_traffic (event_date, event_name, events)
  select d, event_name, count(*) from fact_event where event_date = d group by event_name;

  delete from daily_unique_visitors where event_date = d;
  insert into daily_unique_visitors (event_date, visitors)
  select d, count(distinct customer_id) from fact_event where event_date = d having count(*) > 0;

  delete from product_sales_daily where order_date = d;
  insert into product_sales_daily (order_date, product_id, orders, units, revenue)
  select d, product_id, count(distinct (source, order_id)), sum(quantity), sum(amount)
  from fact_order_line where order_date = d and not cancelled group by product_id;

  delete from product_events_daily where event_date = d;
  insert into product_events_daily (event_date, product_id, event_name, events, users)
  select d, product_id, event_name, count(*), count(distinct customer_id)
  from fact_event where event_date = d and product_id is not null group by product_id, event_name;

  delete from funnel_daily where event_date = d;
  insert into funnel_daily (event_date, viewers, add_to_cart_users, buyers)
  select d, count(distinct customer_id) filter (where event_name = 'view'),
         count(distinct customer_id) filter (where event_name = 'add_to_cart'),
         count(distinct customer_id) filter (where event_name = 'order')
  from fact_event where event_date = d having count(*) > 0;

  -- The dashboard's segments (064_dashboard_segments.sql): every (category, country) and roll-up.
  delete from sales_daily_segment where order_date = d;
  insert into sales_daily_segment (order_date, category, country, orders, kept_orders, units, revenue)
  select d, case when grouping(p.category_key) = 1 then '*' else coalesce(p.category_key, '(none)') end,
         case when grouping(c.country) = 1 then '*' else coalesce(c.country, '(unknown)') end,
         count(distinct (f.source, f.order_id)), count(distinct (f.source, f.order_id)) filter (where not f.cancelled),
         coalesce(sum(f.quantity) filter (where not f.cancelled), 0), coalesce(sum(f.amount) filter (where not f.cancelled), 0)
  from fact_order_line f left join dim_product p using (product_id) left join dim_customer c using (customer_id)
  where f.order_date = d
  group by grouping sets ((p.category_key, c.country), (p.category_key), (c.country), ())
  having count(*) > 0;

  delete from visitors_daily_country where event_date = d;
  insert into visitors_daily_country (event_date, country, visitors)
  select d, case when grouping(c.country) = 1 then '*' else coalesce(c.country, '(unknown)') end, count(*)
  from (select distinct customer_id from fact_event where event_date = d) v left join dim_customer c using (customer_id)
  group by grouping sets ((c.country), ())
  having count(*) > 0;
$$;

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
