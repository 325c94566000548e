-- The transform's work layer: cleaned, pseudonymised copies of the staging rows it has read.
-- Staging lives in another database and the analytics role cannot read it, so the transform
-- streams rows across (COPY out of staging, COPY into here). Raw user ids never arrive: the
-- stream replaces them with HMAC-SHA256 pseudonyms on the way. Only etl_analytics reads `work`.
create schema if not exists work;
revoke all on schema work from public;

-- work.norm_text: moved to sql/analytics/code/010_norm_text.sql, which holds the current definition (see lib/migrate.ts).

-- One row per transform extract (and its reconciliation): received = loaded + quarantined + duplicates.
create table if not exists work.loads (
  load_id         text primary key,            -- 'transform/<hour>/extract/<source>'
  source          text not null,
  partition_start timestamptz not null,
  partition_end   timestamptz not null,
  received        integer not null,
  loaded          integer not null,
  quarantined     integer not null,
  duplicates      integer not null,
  finished_at     timestamptz not null default now(),
  constraint loads_reconcile check (received = loaded + quarantined + duplicates)
);

-- Every version of every order (the latest by updated_at is the order).
create table if not exists work.orders (
  order_id     text not null,
  updated_at   timestamptz not null,
  customer_id  text not null,                  -- pseudonym
  status       text not null,
  created_at   timestamptz not null,
  created_date date generated always as ((created_at at time zone 'UTC')::date) stored,
  primary key (order_id, updated_at)
);
create index if not exists work_orders_created_date on work.orders (created_date);

create table if not exists work.order_lines (
  order_id   text not null,
  updated_at timestamptz not null,
  line_no    integer not null,
  product_id text not null,
  quantity   integer not null check (quantity > 0),
  unit_price numeric(14, 2) not null check (unit_price >= 0),
  primary key (order_id, updated_at, line_no)
);

-- Purchase-file lines, once per (order_id, product_id).
create table if not exists work.purchases (
  order_id       text not null,
  product_id     text not null,
  customer_id    text not null,                -- pseudonym
  order_date     date not null,
  product_name   text,
  quantity       integer not null check (quantity > 0),
  price          numeric(14, 2) not null check (price >= 0),
  total          numeric(14, 2),
  total_mismatch boolean not null,
  source_file    text not null,
  source_line    integer not null,
  primary key (order_id, product_id)
);
create index if not exists work_purchases_order_date on work.purchases (order_date);

-- Events, once per event_id: a duplicate arriving hours later hits the key and is not counted.
create table if not exists work.events (
  event_id    text primary key,
  event_name  text not null,
  customer_id text not null,                   -- pseudonym
  session_id  text not null,
  product_id  text,
  order_id    text,
  price       numeric(14, 2),
  ts          timestamptz not null,
  event_date  date generated always as ((ts at time zone 'UTC')::date) stored
);
create index if not exists work_events_event_date on work.events (event_date);

create table if not exists work.products (
  product_id   text not null,
  updated_at   timestamptz not null,
  product_name text,
  category     text,
  price        numeric(14, 2),
  primary key (product_id, updated_at)
);

-- Users without e-mail: the transform never needs it, so it never copies it.
create table if not exists work.users (
  customer_id text not null,                   -- pseudonym
  updated_at  timestamptz not null,
  user_name   text,
  country     text,
  signup_date date,
  primary key (customer_id, updated_at)
);

create table if not exists work.inventory (
  product_id  text not null,
  warehouse   text not null,
  updated_at  timestamptz not null,
  stock_level integer not null,
  primary key (product_id, warehouse, updated_at)
);
