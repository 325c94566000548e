-- Daily sales per dashboard segment (issue 14): one row per (date, category, country) and per
-- roll-up of either, '*' standing for "all". The dashboard's filters then read one row per
-- date, never the facts. Distinct counts are exact at every level: an order with lines in two
-- categories is one order under category '*', so nothing is summed across segments. Rebuilt per
-- date by work.refresh_metrics(d) (sql/analytics/code/030_refresh_metrics.sql) with the facts.
create table if not exists sales_daily_segment (
  order_date  date not null,
  category    text not null,
  country     text not null,
  orders      integer not null,        -- distinct orders with a line in the segment, cancelled included (as orders_by_date)
  kept_orders integer not null,        -- of which not cancelled
  units       bigint not null,         -- non-cancelled lines
  revenue     numeric(16, 2) not null, -- non-cancelled lines
  primary key (order_date, category, country)
);

-- Visitors per country ('*': all), not per category: a visit is not to a category, and counting
-- distinct users per (category, country) cost four times as much per date as the rest of this file.
create table if not exists visitors_daily_country (
  event_date date not null,
  country    text not null,
  visitors   integer not null,         -- distinct users (pseudonyms) with any event that day
  primary key (event_date, country)
);

-- The dates loaded before this migration, filled once from the facts (later dates by refresh_metrics).
insert into sales_daily_segment (order_date, category, country, orders, kept_orders, units, revenue)
select f.order_date,
       case when grouping(p.category_key) = 1 then '*' else coalesce(p.category_key, '(none)') end,
       case when grouping(c.country) = 1 then '*' else coalesce(c.country, '(unknown)') end,
       count(distinct (f.source, f.order_id)), count(distinct (f.source, f.order_id)) filter (where not f.cancelled),
       coalesce(sum(f.quantity) filter (where not f.cancelled), 0), coalesce(sum(f.amount) filter (where not f.cancelled), 0)
from fact_order_line f left join dim_product p using (product_id) left join dim_customer c using (customer_id)
group by grouping sets ((f.order_date, p.category_key, c.country), (f.order_date, p.category_key), (f.order_date, c.country), (f.order_date))
on conflict do nothing;

insert into visitors_daily_country (event_date, country, visitors)
select v.event_date, case when grouping(c.country) = 1 then '*' else coalesce(c.country, '(unknown)') end, count(*)
from (select distinct event_date, customer_id from fact_event) v left join dim_customer c using (customer_id)
group by grouping sets ((v.event_date, c.country), (v.event_date))
on conflict do nothing;
