-- The dashboard's country and high-value panels (issue 14) read these instead of the order lines: at
-- scale 10 over 30 days the lines are 2.4M rows, and those panels took 6-9 s. Rebuilt per date by
-- work.refresh_metrics(d) (sql/analytics/code/030_refresh_metrics.sql) with the facts.

-- Non-cancelled orders at the order grain, per date: what the high-value panel ranks. Its indexes
-- walk the amounts from the top, so the range's 95th percentile is found by reading the top 5%, not
-- by sorting the range.
create table if not exists order_values (
  order_date  date not null,
  source      text not null,
  order_id    text not null,
  customer_id text not null,
  country     text not null,
  amount      numeric(16, 2) not null,   -- the order's non-cancelled lines
  primary key (order_date, source, order_id, customer_id)
);
create index if not exists order_values_amount on order_values (amount, order_date);
create index if not exists order_values_country_amount on order_values (country, amount, order_date);

-- How many rows of order_values each date has, per country and in all ('*').
create table if not exists order_values_daily (
  order_date date not null,
  country    text not null,
  orders     integer not null,
  primary key (order_date, country)
);

-- Distinct customers over any range, exactly, without reading the range's orders. Each day a
-- customer ordered (per country) links to the customer's previous order day. A customer ordered in
-- [a, b] exactly when one of their order days d in [a, b] has its previous day before a (or none):
-- their first order day in the range. So the count is a sum over customer_order_gaps, one row per
-- (date, country, gap): rows with gap 0 (no earlier order) or gap > d - a.
create table if not exists customer_order_days (
  country     text not null,
  customer_id text not null,
  order_date  date not null,
  prev_date   date,                      -- the customer's previous order day in this country; null for the first
  primary key (country, customer_id, order_date)
);
create index if not exists customer_order_days_date on customer_order_days (order_date);

create table if not exists customer_order_gaps (
  order_date date not null,
  country    text not null,
  gap        integer not null,           -- order_date - prev_date, in days; 0 when there was no earlier order day
  customers  integer not null,
  primary key (order_date, country, gap)
);

-- The dates loaded before this migration, filled once from the facts (later dates by refresh_metrics).
insert into order_values (order_date, source, order_id, customer_id, country, amount)
select f.order_date, f.source, f.order_id, f.customer_id, c.country, sum(f.amount)
from fact_order_line f join dim_customer c using (customer_id)
where not f.cancelled group by 1, 2, 3, 4, 5
on conflict do nothing;

insert into order_values_daily (order_date, country, orders)
select order_date, case when grouping(country) = 1 then '*' else country end, count(*)
from order_values group by grouping sets ((order_date, country), (order_date))
on conflict do nothing;

insert into customer_order_days (country, customer_id, order_date, prev_date)
select country, customer_id, order_date, lag(order_date) over (partition by country, customer_id order by order_date)
from (select distinct country, customer_id, order_date from order_values) d
on conflict do nothing;

insert into customer_order_gaps (order_date, country, gap, customers)
select order_date, country, coalesce(order_date - prev_date, 0), count(*) from customer_order_days group by 1, 2, 3
on conflict do nothing;
