-- fact_event's two foreign keys go (issue 11). Measured at scale 10 on one day's 929,056 events
-- (psql, in one transaction, rolled back): the date's insert took 18.9 s with them and 9.1 s
-- without. Each inserted row ran two referential-integrity triggers, and each trigger locked its
-- dimension row (FOR KEY SHARE), which writes the lock into that row's page.
-- What still keeps an orphan out: work.infer_dimensions(d) runs first in the same transaction, and
-- the blocking data check facts_have_dimensions (sql/checks/) reads the date's events whenever
-- fact_event lacks these keys, so a date with an orphan event does not commit. fact_order_line
-- keeps its keys (a day is ~150k lines, and the test of the foreign-key path plants one there).
alter table fact_event drop constraint if exists fact_event_customer_id_fkey;
alter table fact_event drop constraint if exists fact_event_product_id_fkey;
