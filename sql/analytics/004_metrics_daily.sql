-- Date-partitioned metrics, rebuilt per affected date by work.refresh_metrics(d) in the same
-- transaction as the facts. Revenue is numeric, never a float.

-- orders_by_date (contract): per order date, the number of orders (cancelled included: they are
-- orders) and their revenue (cancelled orders count in no revenue). API and purchase-file orders.
create table if not exists orders_by_date (
  order_date date primary key,
  orders     integer not null,
  revenue    numeric(16, 2) not null
);

-- daily_traffic (contract): events per event type per UTC day, each event_id once.
create table if not exists daily_traffic (
  event_date date not null,
  event_name text not null,
  events     integer not null,
  primary key (event_date, event_name)
);

-- daily_unique_visitors (contract): distinct users (pseudonyms) with any event that day.
create table if not exists daily_unique_visitors (
  event_date date primary key,
  visitors   integer not null
);

-- Units and revenue per product per order date, non-cancelled orders of all sources.
create table if not exists product_sales_daily (
  order_date date not null,
  product_id text not null,
  orders     integer not null,
  units      integer not null,
  revenue    numeric(16, 2) not null,
  primary key (order_date, product_id)
);

-- Behaviour per product per day: events and distinct users per event type (wishlists, returns...).
create table if not exists product_events_daily (
  event_date date not null,
  product_id text not null,
  event_name text not null,
  events     integer not null,
  users      integer not null,
  primary key (event_date, product_id, event_name)
);

-- Path to purchase per day: distinct users who viewed, added to cart, ordered.
create table if not exists funnel_daily (
  event_date        date primary key,
  viewers           integer not null,
  add_to_cart_users integer not null,
  buyers            integer not null
);

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
$$;
