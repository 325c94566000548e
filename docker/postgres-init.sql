-- Databases and least-privilege roles, for the Docker Compose stack (the same as `etl services up`).
create role etl_staging login password 'etl_staging_dev';
create role etl_analytics login password 'etl_analytics_dev';
create role shop_owner login password 'shop_owner_dev';
create role etl_shop_reader login password 'etl_shop_reader_dev';
-- The analysts' passwords come from ANALYST_PASSWORD and ANALYST_PII_PASSWORD (docker-compose.yml
-- passes them in). This file runs only when the data volume is first initialised, so a password
-- rotated later with ALTER ROLE etl_analyst PASSWORD '...' is never reset.
\getenv analyst_password ANALYST_PASSWORD
\getenv analyst_pii_password ANALYST_PII_PASSWORD
\if :{?analyst_password}
\else
  \set analyst_password etl_analyst_dev
\endif
\if :{?analyst_pii_password}
\else
  \set analyst_pii_password etl_analyst_pii_dev
\endif
create role etl_analyst login password :'analyst_password';
create role etl_analyst_pii login password :'analyst_pii_password';
create database staging owner etl_staging;
create database analytics owner etl_analytics;
create database shop owner shop_owner;
revoke connect on database staging from public;
revoke connect on database analytics from public;
revoke connect on database shop from public;
grant connect on database shop to etl_shop_reader;
grant connect on database analytics to etl_analyst, etl_analyst_pii;
\connect shop
alter default privileges for role shop_owner in schema public grant select on tables to etl_shop_reader;
