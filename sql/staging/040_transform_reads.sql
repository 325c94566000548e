-- The hourly transform reads each source by ingested_at (what arrived in its window) and by
-- business time (what happened in it, for backfills): index both.
create index if not exists orders_ingested_at on staging.orders (ingested_at);
create index if not exists purchases_ingested_at on staging.purchases (ingested_at);
create index if not exists products_ingested_at on staging.products (ingested_at);
create index if not exists products_updated_at on staging.products (updated_at);
create index if not exists users_ingested_at on staging.users (ingested_at);
create index if not exists users_updated_at on staging.users (updated_at);
create index if not exists inventory_ingested_at on staging.inventory (ingested_at);
create index if not exists inventory_updated_at on staging.inventory (updated_at);
