-- Least privilege: analysts read metrics, facts (pseudonyms only) and the masked views; the base
-- tables holding personal names (dim_customer) and the work layer stay with etl_analytics.
-- The grants on views are in sql/analytics/code/900_access.sql (a re-created view needs them again).
revoke all on all tables in schema public from public;
grant select on orders_by_date, daily_traffic, daily_unique_visitors, product_sales_daily, product_events_daily, funnel_daily,
  dim_product, fact_order_line, fact_event, dq_findings
  to etl_analyst, etl_analyst_pii;
