-- mask_name and the metric views over the facts and the daily tables.
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- Metrics over the whole history, as views over the facts and the daily tables: always current,
-- nothing to rebuild when a date changes. Personal names go through the masking rule below.

-- user_name is shown to members of etl_analyst_pii and masked ('A***') for everyone else.
create or replace function public.mask_name(name text) returns text language sql stable as $$
  select case when name is null then null
              when pg_has_role(current_user, 'etl_analyst_pii', 'MEMBER') then name
              else left(name, 1) || '***' end
$$;

-- user_behavior (MISSION): the unified behaviour table; user_id is the pseudonym.
create or replace view user_behavior as
select e.event_date as date, e.event_id, e.event_name, e.price, e.product_id, p.product_name,
       e.customer_id as user_id, public.mask_name(c.user_name) as user_name, e.order_id
from fact_event e
left join dim_product p on p.product_id = e.product_id
join dim_customer c on c.customer_id = e.customer_id;

-- product_sales (contract): units and revenue per product, all purchase sources, non-cancelled.
create or replace view product_sales as
select s.product_id, p.product_name, sum(s.units)::bigint as units, sum(s.revenue) as revenue
from product_sales_daily s join dim_product p using (product_id)
group by s.product_id, p.product_name;

-- monthly_revenue (contract): per month (its first day), orders and revenue, as orders_by_date.
create or replace view monthly_revenue as
select date_trunc('month', order_date)::date as month, sum(orders)::bigint as orders, sum(revenue) as revenue
from orders_by_date group by 1;

-- Order lines enriched with product and customer (name masked).
create or replace view order_lines_enriched as
select f.order_date, f.source, f.order_id, f.line_no, f.customer_id, public.mask_name(c.user_name) as user_name, c.country,
       f.product_id, p.product_name, p.category, f.quantity, f.unit_price, f.amount, f.status, f.cancelled
from fact_order_line f join dim_product p using (product_id) join dim_customer c using (customer_id);

-- Orders: one row per order with its amount (non-cancelled revenue only counts where not cancelled).
-- (007) The orders view grouped by (source, order_id) and took min(customer_id), which hid the customer
-- from the planner: a filter on customer_id ran after aggregating every order. An order has one
-- customer, so grouping by it too gives the same rows and lets the filter reach the index.
create or replace view orders as
select source, order_id, min(order_date) as order_date, customer_id, bool_or(cancelled) as cancelled,
       sum(quantity)::bigint as quantity, sum(amount) as amount
from fact_order_line group by source, order_id, customer_id;

-- Order lines with their customer's country: what the dashboard's country panels read (analysts
-- cannot read dim_customer itself, which holds the names). Lines, not orders: a filter on order_date
-- reaches fact_order_line_date before anything is grouped, which a filter on the orders view cannot.
create or replace view order_lines_country as
select f.order_date, f.source, f.order_id, f.line_no, f.customer_id, c.country, f.quantity, f.amount, f.cancelled
from fact_order_line f join dim_customer c using (customer_id);

-- Average purchase value per customer: revenue / orders over non-cancelled orders, all sources.
create or replace view avg_purchase_value_per_customer as
select customer_id, count(*) as orders, sum(amount) as revenue, round(avg(amount), 2) as avg_purchase_value
from orders where not cancelled group by customer_id;

-- Customers with behaviour metrics (name masked): orders, revenue, events, sessions, activity span.
create or replace view customers as
select c.customer_id, public.mask_name(c.user_name) as user_name, c.country, c.signup_date,
       coalesce(o.orders, 0) as orders, coalesce(o.revenue, 0) as revenue, o.avg_purchase_value,
       coalesce(e.events, 0) as events, coalesce(e.sessions, 0) as sessions, e.first_event_at, e.last_event_at
from dim_customer c
left join avg_purchase_value_per_customer o using (customer_id)
left join (select customer_id, count(*) as events, count(distinct session_id) as sessions, min(ts) as first_event_at, max(ts) as last_event_at
           from fact_event group by customer_id) e using (customer_id);

-- Top products: most sold (units), most wishlisted and most returned (events), top 10 each.
create or replace view top_products as
select * from (
  select 'most_sold' as ranking, rank() over (order by units desc, product_id) as rank, product_id, product_name, units::bigint as value
  from product_sales
  union all
  select r.ranking, rank() over (partition by r.ranking order by r.value desc, r.product_id), r.product_id, p.product_name, r.value
  from (select case event_name when 'wishlist' then 'most_wishlisted' else 'most_returned' end as ranking, product_id, sum(events)::bigint as value
        from product_events_daily where event_name in ('wishlist', 'return') group by 1, 2) r
  join dim_product p using (product_id)
) t where rank <= 10;

-- Average spend per user per session: the price of `order` events summed per (user, session),
-- averaged over that user's sessions with an order.
create or replace view avg_spend_per_session as
select customer_id as user_id, count(*) as sessions, sum(spend) as spend, round(avg(spend), 2) as avg_spend_per_session
from (select customer_id, session_id, sum(coalesce(price, 0)) as spend from fact_event where event_name = 'order' group by 1, 2) s
group by customer_id;

-- Category summaries: products, units, revenue, behaviour events and average list price per category.
create or replace view category_summary as
select p.category_key as category, count(distinct p.product_id) as products,
       coalesce(sum(s.units), 0)::bigint as units, coalesce(sum(s.revenue), 0) as revenue,
       coalesce(sum(e.views), 0)::bigint as views, coalesce(sum(e.add_to_carts), 0)::bigint as add_to_carts,
       coalesce(sum(e.wishlists), 0)::bigint as wishlists, coalesce(sum(e.returns), 0)::bigint as returns,
       round(avg(p.price), 2) as avg_price
from dim_product p
left join (select product_id, sum(units) as units, sum(revenue) as revenue from product_sales_daily group by 1) s using (product_id)
left join (select product_id, sum(events) filter (where event_name = 'view') as views,
                  sum(events) filter (where event_name = 'add_to_cart') as add_to_carts,
                  sum(events) filter (where event_name = 'wishlist') as wishlists,
                  sum(events) filter (where event_name = 'return') as returns
           from product_events_daily group by 1) e using (product_id)
group by p.category_key;

-- Top 10 most purchased products of the last month: the 30 days ending at the latest order date
-- in the data (the data is historical, so "now" would be meaningless).
create or replace view top_products_last_month as
select rank() over (order by sum(s.units) desc, s.product_id) as rank, s.product_id, p.product_name,
       sum(s.units)::bigint as units, sum(s.revenue) as revenue
from product_sales_daily s join dim_product p using (product_id)
where s.order_date > (select max(order_date) - 30 from product_sales_daily)
group by s.product_id, p.product_name
order by rank limit 10;

-- Inventory turnover: units sold / average stock, where average stock sums, over warehouses, the
-- mean of each warehouse's observed stock levels.
create or replace view inventory_turnover as
select p.product_id, p.product_name, p.category_key as category, coalesce(s.units, 0)::bigint as units_sold, i.avg_stock,
       case when i.avg_stock > 0 then round(coalesce(s.units, 0) / i.avg_stock, 4) end as turnover
from dim_product p
join (select product_id, sum(avg_level) as avg_stock
      from (select product_id, warehouse, avg(stock_level) as avg_level from work.inventory group by 1, 2) w group by 1) i using (product_id)
left join (select product_id, sum(units) as units from product_sales_daily group by 1) s using (product_id);

create or replace view inventory_turnover_by_category as
select category, sum(units_sold)::bigint as units_sold, sum(avg_stock) as avg_stock,
       case when sum(avg_stock) > 0 then round(sum(units_sold) / sum(avg_stock), 4) end as turnover
from inventory_turnover group by category;

-- Inventory turnover per category and month (the dashboard's heatmap): units sold in the month /
-- the month's average stock, with average stock as in inventory_turnover (over warehouses, the
-- mean of each warehouse's levels observed that month). A month without a stock observation for a
-- product has no stock for it: the levels are versions, so a level unchanged all month is not seen.
create or replace view inventory_turnover_monthly as
with stock as (
  select product_id, month, sum(avg_level) as avg_stock from inventory_monthly group by 1, 2
), sold as (
  select product_id, date_trunc('month', order_date)::date as month, sum(units) as units from product_sales_daily group by 1, 2
)
select coalesce(p.category_key, '(none)') as category, s.month, coalesce(sum(u.units), 0)::bigint as units_sold,
       round(sum(s.avg_stock), 2) as avg_stock,
       case when sum(s.avg_stock) > 0 then round(coalesce(sum(u.units), 0) / sum(s.avg_stock), 4) end as turnover
from stock s join dim_product p using (product_id) left join sold u using (product_id, month)
group by 1, 2;

-- Stock now: each product's latest level per warehouse (inventory_latest), summed, with the time of the newest level.
create or replace view inventory_stock as
select l.product_id, p.product_name, coalesce(p.category_key, '(none)') as category, sum(l.stock_level)::bigint as stock,
       count(*) as warehouses, max(l.updated_at) as as_of
from inventory_latest l
join dim_product p using (product_id)
group by l.product_id, p.product_name, p.category_key;

-- Path to purchase: view -> cart -> order, distinct users per day and conversion rates.
create or replace view purchase_funnel as
select event_date, viewers, add_to_cart_users, buyers,
       round(add_to_cart_users::numeric / nullif(viewers, 0), 4) as view_to_cart_rate,
       round(buyers::numeric / nullif(add_to_cart_users, 0), 4) as cart_to_order_rate,
       round(buyers::numeric / nullif(viewers, 0), 4) as conversion_rate
from funnel_daily;

-- Country view: customers, orders, quantity, revenue and average quantity per order, per country.
create or replace view country_summary as
select c.country, count(distinct o.customer_id) as customers, count(*) as orders, sum(o.quantity)::bigint as quantity,
       sum(o.amount) as revenue, round(avg(o.quantity), 2) as avg_quantity
from orders o join dim_customer c using (customer_id)
where not o.cancelled group by c.country;

create or replace view top_countries as
select rank() over (order by revenue desc, country) as rank, * from country_summary order by revenue desc, country limit 5;

-- High-value orders: non-cancelled orders at or above the 95th percentile of order amounts.
create or replace view high_value_orders as
select o.source, o.order_id, o.order_date, o.customer_id, c.country, o.amount
from orders o join dim_customer c using (customer_id)
where not o.cancelled and o.amount >= (select percentile_cont(0.95) within group (order by amount) from orders where not cancelled);

-- Customers with the highest and lowest average unit prices paid (10 each), with their country.
create or replace view customer_unit_price_extremes as
with per_customer as (
  select f.customer_id, c.country, round(sum(f.amount) / sum(f.quantity), 2) as avg_unit_price
  from fact_order_line f join dim_customer c using (customer_id) where not f.cancelled group by 1, 2
)
select * from (select 'highest' as extreme, rank() over (order by avg_unit_price desc, customer_id) as rank, * from per_customer) h where rank <= 10
union all
select * from (select 'lowest', rank() over (order by avg_unit_price, customer_id), * from per_customer) l where rank <= 10;
