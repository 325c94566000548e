-- Data checks (sql/checks/, docs/data-checks.md): the result of every check on every analytics date
-- the transform rebuilt. A date whose blocking check failed was not published: its previous
-- version stays, and the failed result is the row that says why. Readable by analysts.
create table if not exists data_checks (
  check_date  date not null,
  check_name  text not null,
  run_id      text not null,                    -- '<transform workflow id>/<run id>'
  severity    text not null check (severity in ('blocking', 'warning')),
  status      text not null check (status in ('pass', 'warn', 'fail', 'skip')),
  observed    numeric,
  expected    numeric,
  detail      text not null,
  published   boolean not null,                 -- false: the date's previous version was kept
  checked_at  timestamptz not null default now(),
  primary key (check_date, check_name, run_id)
);
create index if not exists data_checks_recent on data_checks (checked_at);

-- data_checks_latest (the latest result per check and date) is in sql/analytics/code/060_data_checks.sql.
grant select on data_checks to etl_analyst, etl_analyst_pii;
