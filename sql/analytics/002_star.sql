-- The star schema. Facts keep keys and measures; names come from the dimensions, so a renamed
-- product or user changes one dimension row instead of every date that mentions it.

-- Products: the latest version by updated_at, normalised. `inferred` rows stand in for products
-- that facts mention before the catalog pipeline has delivered them (late-arriving dimension).
create table if not exists dim_product (
  product_id   text primary key,
  product_name text,
  category     text not null,                  -- display text; 'Uncategorised' when missing
  category_key text not null,                  -- lower(category): groups 'Garden' and ' garden '
  price        numeric(14, 2),
  updated_at   timestamptz,
  inferred     boolean not null default false
);
create index if not exists dim_product_category on dim_product (category_key);

-- Customers by pseudonym (HMAC-SHA256 of user_id). user_name is personal: see the masked views.
create table if not exists dim_customer (
  customer_id text primary key,
  user_name   text,
  country     text not null,                   -- 'unknown' when missing
  signup_date date,
  updated_at  timestamptz,
  inferred    boolean not null default false
);
create index if not exists dim_customer_country on dim_customer (country);

-- Order lines of API orders (latest version) and purchase files, enriched and priced.
create table if not exists fact_order_line (
  order_date   date not null,                  -- UTC date of created_at, or the purchase OrderDate
  source       text not null check (source in ('api', 'file')),
  order_id     text not null,
  line_no      integer not null,
  customer_id  text not null references dim_customer,
  product_id   text not null references dim_product,
  quantity     integer not null check (quantity > 0),
  unit_price   numeric(14, 2) not null check (unit_price >= 0),
  amount       numeric(16, 2) not null,        -- quantity x unit_price, exact
  status       text not null,                  -- latest status; 'purchased' for file orders
  cancelled    boolean not null,
  primary key (source, order_id, line_no)
);
create index if not exists fact_order_line_date on fact_order_line (order_date);

-- Events once per event_id; user_behavior is the named, masked view of this table.
create table if not exists fact_event (
  event_date  date not null,                   -- UTC date of ts
  event_id    text primary key,
  event_name  text not null,
  customer_id text not null references dim_customer,
  session_id  text not null,
  product_id  text references dim_product,
  order_id    text,
  price       numeric(14, 2),
  ts          timestamptz not null
);
create index if not exists fact_event_date on fact_event (event_date);

-- Data-quality findings per date: kept records that still deserve a look (e.g. Total mismatches).
create table if not exists dq_findings (
  finding_date date not null,
  source       text not null,
  kind         text not null,
  records      integer not null,
  primary key (finding_date, source, kind)
);
