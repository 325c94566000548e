-- Typed copies of each source. Every row carries its load (load_id, ingested_at); the source is
-- the table. Natural keys make loads idempotent: a repeated record is a duplicate, not a new row.
-- Text is stored as received (normalisation happens in the transform); types are parsed.
create schema if not exists staging;

create table if not exists staging.orders (
  order_id    text not null,
  updated_at  timestamptz not null,
  user_id     text not null,
  status      text not null,
  created_at  timestamptz not null,
  load_id     text not null,
  ingested_at timestamptz not null default now(),
  primary key (order_id, updated_at)
);
create index if not exists orders_updated_at on staging.orders (updated_at);

create table if not exists staging.order_lines (
  order_id    text not null,
  updated_at  timestamptz not null,
  line_no     integer not null,
  product_id  text not null,
  quantity    integer not null check (quantity > 0),
  unit_price  numeric(14, 2) not null check (unit_price >= 0),
  load_id     text not null,
  ingested_at timestamptz not null default now(),
  primary key (order_id, updated_at, line_no),
  foreign key (order_id, updated_at) references staging.orders (order_id, updated_at)
);

create table if not exists staging.products (
  product_id   text not null,
  updated_at   timestamptz not null,
  product_name text,
  category     text,
  price        numeric(14, 2),
  load_id      text not null,
  ingested_at  timestamptz not null default now(),
  primary key (product_id, updated_at)
);

create table if not exists staging.users (
  user_id     text not null,
  updated_at  timestamptz not null,
  user_name   text,
  email       text,
  country     text,
  signup_date date,
  load_id     text not null,
  ingested_at timestamptz not null default now(),
  primary key (user_id, updated_at)
);

create table if not exists staging.inventory (
  product_id  text not null,
  warehouse   text not null,
  updated_at  timestamptz not null,
  stock_level integer not null,
  load_id     text not null,
  ingested_at timestamptz not null default now(),
  primary key (product_id, warehouse, updated_at)
);

create table if not exists staging.reviews (
  review_id   text primary key,
  product_id  text not null,
  user_id     text not null,
  rating      smallint not null check (rating between 1 and 5),
  review_text text,
  created_at  timestamptz not null,
  load_id     text not null,
  ingested_at timestamptz not null default now()
);

-- One row per event_id: a re-delivered event is counted as a duplicate of its load.
create table if not exists staging.events (
  event_id        text primary key,
  event_name      text not null,
  user_id         text not null,
  session_id      text not null,
  product_id      text,
  order_id        text,
  price           numeric(14, 2),
  ts              timestamptz not null,
  kafka_partition integer not null,
  kafka_offset    bigint not null,
  load_id         text not null,
  ingested_at     timestamptz not null default now()
);
create index if not exists events_ts on staging.events (ts);
create index if not exists events_ingested_at on staging.events (ingested_at);

-- Purchase-file lines. One row per (order_id, product_id); the file and line it came from.
create table if not exists staging.purchases (
  order_id       text not null,
  product_id     text not null,
  customer_id    text not null,
  order_date     date not null,
  product_name   text,
  quantity       integer not null check (quantity > 0),
  price          numeric(14, 2) not null check (price >= 0),
  total          numeric(14, 2),
  total_mismatch boolean not null,
  extra          jsonb,                   -- columns beyond the known layout (schema policy: evolve)
  source_file    text not null,
  source_line    integer not null,
  load_id        text not null,
  ingested_at    timestamptz not null default now(),
  primary key (order_id, product_id)
);
create index if not exists purchases_order_date on staging.purchases (order_date);
