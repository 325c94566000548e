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

-- work.refresh_metrics(d), which rebuilds these tables per date, moved to sql/analytics/code/030_refresh_metrics.sql, which holds the current definition (see lib/migrate.ts).
