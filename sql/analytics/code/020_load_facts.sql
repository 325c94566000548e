-- work.infer_dimensions and work.load_facts: the facts of one date, rebuilt from the work layer.
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- Rebuilds the facts of one date from the work layer. Called once per affected date, inside the
-- transaction that also rebuilds that date's metrics, so a re-run leaves identical rows.

-- Dimensions first: a product or customer that facts mention but the catalog has not delivered yet
-- gets an inferred row (replaced when the real one arrives), so enrichment never drops a fact.
create or replace function work.infer_dimensions(d date) returns void language sql as $$
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
  order by 1
  on conflict (customer_id) do nothing;
$$;

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

  delete from fact_event where event_date = d;
  insert into fact_event (event_date, event_id, event_name, customer_id, session_id, product_id, order_id, price, ts)
  select event_date, event_id, event_name, customer_id, session_id, product_id, order_id, price, ts
  from work.events where event_date = d;

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
