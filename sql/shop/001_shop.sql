-- The shop's operational database, as the simulator serves it. Products and users hold their
-- current version; inventory and reviews are append-only histories. Every table has updated_at
-- (or created_at) so the catalog pipeline can read it incrementally.
create table if not exists products (
  product_id   text primary key,
  product_name text,
  category     text,
  price        numeric(14, 2),
  updated_at   timestamptz not null
);
create index if not exists products_updated_at on products (updated_at, product_id);

create table if not exists users (
  user_id     text primary key,
  user_name   text,
  email       text,
  country     text,
  signup_date date,
  updated_at  timestamptz not null
);
create index if not exists users_updated_at on users (updated_at, user_id);

create table if not exists inventory (
  product_id  text not null,
  warehouse   text not null,
  stock_level integer not null,
  updated_at  timestamptz not null,
  primary key (product_id, warehouse, updated_at)
);
create index if not exists inventory_updated_at on inventory (updated_at);

create table if not exists reviews (
  review_id   text primary key,
  product_id  text not null,
  user_id     text not null,
  rating      smallint not null,
  review_text text,
  created_at  timestamptz not null,
  updated_at  timestamptz not null
);
create index if not exists reviews_updated_at on reviews (updated_at, review_id);

-- The pipeline reads with its own role, which may only SELECT.
grant select on all tables in schema public to etl_shop_reader;
