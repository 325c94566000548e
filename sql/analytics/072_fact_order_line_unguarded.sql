-- fact_order_line's two foreign keys go too, as fact_event's did in 070 (issue 11). Measured at
-- scale 10 on a busy day's 64,498 API order lines (psql, in one transaction, rolled back, twice
-- each): the date's insert took 1.54-1.57 s with them and 0.80 s without; their triggers took 0.76 s
-- of it (0.46 s customer, 0.30 s product), one lookup and one FOR KEY SHARE row lock per line and key.
-- What keeps an orphan out is what keeps one out of fact_event: work.infer_dimensions(d) first in
-- the date's transaction, and the blocking data check facts_have_dimensions (sql/checks/), which
-- reads the date's lines whenever fact_order_line lacks these keys (distinct keys, then anti-joins),
-- so a date with an orphan line does not commit.
alter table fact_order_line drop constraint if exists fact_order_line_customer_id_fkey;
alter table fact_order_line drop constraint if exists fact_order_line_product_id_fkey;
