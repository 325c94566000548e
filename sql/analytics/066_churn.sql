-- Customer churn (issue 15, docs/churn.md): what each training run of workflows/churn.ts stored.
-- Written by the Python ML worker (ml/shop_ml/store.py) in one transaction per run, replaced whole
-- when the same run is retried. Features are computed by work.churn_features (code/070_churn.sql).

-- One row per model of a run: its parameters, every metric on the test cutoff, and where its artefact is.
create table if not exists churn_model_runs (
  run_id           text not null,               -- churn/<cutoff>/<workflow run>, one per training
  model            text not null,               -- logistic_regression | gradient_boosting | recency_baseline
  cutoff           date not null,               -- scoring date: the scores use what was known before it
  test_cutoff      date not null,               -- evaluation: features before it, labels in [it, it + horizon)
  train_cutoffs    date[] not null,             -- earlier cutoffs whose label windows end by test_cutoff
  horizon_days     integer not null,            -- N: churned = no purchase within N days after a cutoff
  params           jsonb not null,
  metrics          jsonb not null,              -- roc_auc, pr_auc, brier, precision/recall at the top decile, lift, ...
  importances      jsonb not null,              -- feature -> permutation importance (ROC AUC drop on the test cutoff)
  training_rows    integer not null,
  test_rows        integer not null,
  scored_rows      integer not null,
  duration_seconds numeric not null,
  artefact         text not null,               -- s3://bucket/models/churn/<run>/
  library_versions jsonb not null,
  created_at       timestamptz not null default now(),
  primary key (run_id, model)
);
create index if not exists churn_model_runs_created on churn_model_runs (created_at desc);

-- Each customer's score at the run's cutoff, per model (not the recency baseline).
create table if not exists churn_scores (
  run_id       text not null,
  model        text not null,
  customer_id  text not null,                   -- the pseudonym, as in the facts
  score        double precision not null check (score >= 0 and score <= 1),
  risk_band    text not null check (risk_band in ('high', 'medium', 'low')),
  country      text not null,                   -- segment attributes as of the cutoff
  top_category text not null,
  primary key (run_id, model, customer_id),
  foreign key (run_id, model) references churn_model_runs on delete cascade
);
