"""The shop ETL's Python activity worker: churn training and scoring with scikit-learn (docs/churn.md)."""
