-- The inventory the dashboard reads per request (issue 14): each product's and warehouse's latest
-- level, and the mean of its levels per month. Kept by the transform whenever inventory versions of
-- a product arrive (work.refresh_inventory, sql/analytics/code/030_refresh_metrics.sql), so the
-- inventory_stock and inventory_turnover_monthly views read a row per product and warehouse (and
-- month) instead of every version in work.inventory (450k at scale 10 over 30 days: 0.4-0.5 s).
create table if not exists inventory_latest (
  product_id  text not null,
  warehouse   text not null,
  stock_level integer not null,
  updated_at  timestamptz not null,
  primary key (product_id, warehouse)
);

create table if not exists inventory_monthly (
  product_id text not null,
  warehouse  text not null,
  month      date not null,             -- first day, UTC
  avg_level  numeric not null,          -- mean of the levels observed in the month
  levels     integer not null,          -- how many were observed
  primary key (product_id, warehouse, month)
);

insert into inventory_latest (product_id, warehouse, stock_level, updated_at)
select distinct on (product_id, warehouse) product_id, warehouse, stock_level, updated_at
from work.inventory order by product_id, warehouse, updated_at desc
on conflict do nothing;

insert into inventory_monthly (product_id, warehouse, month, avg_level, levels)
select product_id, warehouse, date_trunc('month', updated_at at time zone 'UTC')::date, avg(stock_level), count(*)
from work.inventory group by 1, 2, 3
on conflict do nothing;
