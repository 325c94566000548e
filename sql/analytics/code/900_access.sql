-- Grants on the views above (a re-applied view loses its grants) and on the metric tables.
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- Least privilege: analysts read metrics, facts (pseudonyms only) and the masked views; the base
-- tables holding personal names (dim_customer) and the work layer stay with etl_analytics.
revoke all on all tables in schema public from public;
grant select on orders_by_date, daily_traffic, daily_unique_visitors, product_sales_daily, product_events_daily, funnel_daily,
  dim_product, fact_order_line, fact_event, dq_findings,
  user_behavior, product_sales, monthly_revenue, order_lines_enriched, orders, avg_purchase_value_per_customer, customers,
  top_products, avg_spend_per_session, category_summary, top_products_last_month, inventory_turnover,
  inventory_turnover_by_category, purchase_funnel, country_summary, top_countries, high_value_orders, customer_unit_price_extremes,
  sales_daily_segment, visitors_daily_country, inventory_turnover_monthly, inventory_stock, order_lines_country,
  order_values, customer_order_gaps
  to etl_analyst, etl_analyst_pii;

grant select on data_checks, data_checks_latest to etl_analyst, etl_analyst_pii;

grant select on churn_model_runs, churn_scores, churn_latest_runs, churn_risk_segments to etl_analyst, etl_analyst_pii;

grant select on realtime_minute, realtime_minute_events, realtime_rolling_hour, realtime_alerts to etl_analyst, etl_analyst_pii;
