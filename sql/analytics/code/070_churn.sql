-- Churn features, labels and horizon (issue 15, docs/churn.md), set-wise over the facts and
-- pseudonyms only. The current definition: edit it here (`etl db migrate` re-applies code/).
--
-- The tables (066_churn.sql): churn_model_runs.run_id is `<cutoff>_<workflow run id>` (the comment
-- there says otherwise), and churn_scores.country is the customer dimension's country when scored.
--
-- The rule that keeps labels from leaking into features: a feature reads only facts dated before
-- the cutoff (order_date < cutoff, event ts < cutoff), and never a fact's latest state (an order's
-- status, cancelled flag): a return or a cancellation is known from its own dated event. The label
-- reads only [cutoff, cutoff + horizon). test/integration/churn.test.ts checks both by adding
-- facts after a cutoff, and changing old orders' status, and comparing the features.

-- The behaviour window of the weekly rates.
create or replace function work.churn_window_days() returns integer language sql immutable as $$ select 28 $$;

-- The population at a cutoff: customers with an order before it. One row each. Dropped first: a new
-- column changes the result type, which create or replace cannot.
drop function if exists work.churn_features(date);
create or replace function work.churn_features(p_cutoff date)
returns table (
  customer_id text, recency_days integer, orders_total integer, orders_28d integer, orders_7d integer,
  frequency_trend double precision, revenue_total double precision, avg_order_value double precision,
  tenure_days integer, sessions_per_week double precision, views_per_week double precision,
  cart_adds_per_week double precision, wishlist_per_week double precision, visit_trend double precision, returns_total integer,
  return_rate double precision, view_to_cart double precision, cart_to_order double precision,
  days_since_last_visit integer, country text, top_category text
)
language sql stable as $$
  with orders as (
    select f.customer_id, f.source, f.order_id, min(f.order_date) as order_date, sum(f.amount) as amount
    from fact_order_line f
    where f.order_date < p_cutoff
    group by f.customer_id, f.source, f.order_id
  ), buyers as (
    select o.customer_id, max(o.order_date) as last_order, count(*) as orders_total,
           count(*) filter (where o.order_date >= p_cutoff - 28) as orders_28d,
           count(*) filter (where o.order_date >= p_cutoff - 7) as orders_7d,
           sum(o.amount) as revenue_total
    from orders o group by o.customer_id
  ), observed as (
    -- Weeks of behaviour the window holds: fewer when the event history began inside it.
    select greatest(1, least(work.churn_window_days(), p_cutoff - min(e.event_date))) / 7.0 as weeks
    from fact_event e where e.event_date < p_cutoff and e.event_date >= p_cutoff - work.churn_window_days()
  ), behaviour as (
    -- A return is not a visit (the shop records it in a session of its own): sessions count the rest.
    select e.customer_id,
           count(distinct e.session_id) filter (where e.event_name <> 'return') as sessions,
           count(distinct e.session_id) filter (where e.event_name <> 'return' and e.event_date >= p_cutoff - 7) as sessions_7d,
           count(*) filter (where e.event_name = 'view') as views,
           count(*) filter (where e.event_name = 'add_to_cart') as carts,
           count(*) filter (where e.event_name = 'wishlist') as wishlists,
           count(distinct e.order_id) filter (where e.event_name = 'order') as ordered
    from fact_event e
    where e.event_date < p_cutoff and e.event_date >= p_cutoff - work.churn_window_days()
    group by e.customer_id
  ), visits as (
    select e.customer_id, max(e.event_date) filter (where e.event_name <> 'return') as last_visit,
           count(distinct e.order_id) filter (where e.event_name = 'return') as returns_total
    from fact_event e where e.event_date < p_cutoff
    group by e.customer_id
  ), categories as (
    select distinct on (f.customer_id) f.customer_id, p.category_key
    from fact_order_line f join dim_product p using (product_id)
    where f.order_date < p_cutoff
    group by f.customer_id, p.category_key
    order by f.customer_id, sum(f.quantity) desc, p.category_key
  )
  select b.customer_id,
         p_cutoff - b.last_order,
         b.orders_total::integer, b.orders_28d::integer, b.orders_7d::integer,
         b.orders_7d / greatest(b.orders_28d / 4.0, 0.25),
         b.revenue_total::double precision,
         (b.revenue_total / b.orders_total)::double precision,
         case when c.signup_date is null then null else p_cutoff - c.signup_date end,
         coalesce(h.sessions, 0) / ob.weeks, coalesce(h.views, 0) / ob.weeks,
         coalesce(h.carts, 0) / ob.weeks, coalesce(h.wishlists, 0) / ob.weeks,
         -- Visits in the last week against the window's weekly rate: below 1 is slowing down.
         coalesce(h.sessions_7d, 0) / greatest(coalesce(h.sessions, 0) / ob.weeks, 0.25),
         coalesce(v.returns_total, 0)::integer,
         coalesce(v.returns_total, 0)::double precision / b.orders_total,
         case when h.views > 0 then h.carts::double precision / h.views end,
         case when h.carts > 0 then least(1.0, h.ordered::double precision / h.carts) end,
         p_cutoff - v.last_visit,
         c.country,
         coalesce(k.category_key, 'unknown')
  from buyers b
  join dim_customer c using (customer_id)
  cross join (select coalesce(max(weeks), 1) as weeks from observed) ob
  left join behaviour h using (customer_id)
  left join visits v using (customer_id)
  left join categories k using (customer_id)
$$;

-- The label of every customer at a cutoff: churned when they place no order (that stayed
-- uncancelled) in [cutoff, cutoff + horizon). Reads the future by design; only the trainer joins it.
create or replace function work.churn_labels(p_cutoff date, p_horizon integer)
returns table (customer_id text, churned boolean)
language sql stable as $$
  select b.customer_id, not exists (
    select 1 from fact_order_line f
    where f.customer_id = b.customer_id and f.order_date >= p_cutoff and f.order_date < p_cutoff + p_horizon and not f.cancelled)
  from (select distinct f.customer_id from fact_order_line f where f.order_date < p_cutoff) b
$$;

-- N, the churn horizon, chosen from the data before p_before: the 80th percentile of the gap in days
-- between a customer's consecutive order dates, rounded up, within [1, 90]; null without repeat buyers.
create or replace function work.churn_horizon(p_before date)
returns table (horizon_days integer, gaps bigint, first_order date, last_order date)
language sql stable as $$
  with days as (
    select distinct f.customer_id, f.order_date from fact_order_line f where f.order_date < p_before
  ), gaps as (
    select order_date - lag(order_date) over (partition by customer_id order by order_date) as gap from days
  )
  select least(90, greatest(1, ceil(percentile_cont(0.8) within group (order by gap))))::integer,
         count(gap), (select min(order_date) from days), (select max(order_date) from days)
  from gaps where gap is not null
$$;

-- The latest run of each model, and its customers' risk by segment, for analysts and the dashboard.
create or replace view churn_latest_runs as
select r.* from churn_model_runs r
where r.run_id = (select run_id from churn_model_runs order by created_at desc, run_id desc limit 1);

create or replace view churn_risk_segments as
select s.model, s.country, s.top_category, count(*) as customers, avg(s.score) as avg_score,
       count(*) filter (where s.risk_band = 'high') as high_risk
from churn_scores s
where s.run_id = (select run_id from churn_model_runs order by created_at desc, run_id desc limit 1)
group by s.model, s.country, s.top_category;
