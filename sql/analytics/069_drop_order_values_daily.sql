-- order_values_daily (067) counted order_values rows per date and country: the same count as
-- sales_daily_segment.kept_orders under category '*' (an order has one customer, every customer a
-- country), which the high-value panel now reads instead. Stored twice, so dropped.
drop table if exists order_values_daily;
