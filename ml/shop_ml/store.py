"""
The ML worker's I/O: features and labels from analytics (work.churn_features / churn_labels, SQL in
sql/analytics/code/070_churn.sql), the run's rows and scores back into analytics in one transaction,
and the model artefact into the lake under models/churn/<run>/.
"""
from __future__ import annotations

import io
import json
import os
import platform
from dataclasses import dataclass
from importlib.metadata import version

import boto3
import joblib
import numpy as np
import pandas as pd
import psycopg
from botocore.config import Config as BotoConfig

from .churn import FEATURES, Labelled, Trained, risk_bands


@dataclass(frozen=True)
class Settings:
    """What the worker reads from its environment (set by workers/ml.ts from the one zod config)."""

    analytics_url: str
    s3_endpoint: str | None
    s3_region: str
    s3_bucket: str
    s3_key: str
    s3_secret: str
    s3_path_style: bool

    @staticmethod
    def from_env() -> "Settings":
        env = os.environ
        return Settings(
            analytics_url=env["ANALYTICS_DATABASE_URL"],
            s3_endpoint=env.get("S3_ENDPOINT") or None,
            s3_region=env.get("S3_REGION", "us-east-1"),
            s3_bucket=env["S3_BUCKET"],
            s3_key=env["S3_ACCESS_KEY_ID"],
            s3_secret=env["S3_SECRET_ACCESS_KEY"],
            s3_path_style=env.get("S3_FORCE_PATH_STYLE", "true") in ("true", "1"),
        )


def _frame(conn: psycopg.Connection, sql: str, params: tuple) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d.name for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=names)


def labelled(conn: psycopg.Connection, cutoffs: list[str], horizon_days: int) -> Labelled:
    """Features before each cutoff joined with the label after it; cutoffs stacked, customers in id order (ties in a score then break the same way every run)."""
    parts = [
        _frame(conn, "select f.*, l.churned, %s::date as cutoff from work.churn_features(%s::date) f join work.churn_labels(%s::date, %s) l using (customer_id) order by customer_id", (c, c, c, horizon_days))
        for c in cutoffs
    ]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*FEATURES, "customer_id", "churned", "cutoff"])
    return Labelled(frame=frame, cutoffs=list(cutoffs))


def unlabelled(conn: psycopg.Connection, cutoff: str) -> pd.DataFrame:
    return _frame(conn, "select * from work.churn_features(%s::date) order by customer_id", (cutoff,))


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in ("scikit-learn", "numpy", "scipy", "pandas", "joblib", "temporalio"):
        out[lib] = version(lib)
    return out


def s3_client(s: Settings):
    return boto3.client(
        "s3", endpoint_url=s.s3_endpoint, region_name=s.s3_region, aws_access_key_id=s.s3_key, aws_secret_access_key=s.s3_secret,
        config=BotoConfig(s3={"addressing_style": "path" if s.s3_path_style else "auto"}, retries={"max_attempts": 5, "mode": "standard"}),
    )


def save_artefact(s: Settings, prefix: str, models: list[Trained], manifest: dict) -> str:
    """Writes model.joblib (the fitted estimators by name), features.json and metrics.json; returns the s3:// prefix."""
    s3 = s3_client(s)
    buf = io.BytesIO()
    joblib.dump({t.name: {"estimator": t.estimator, "columns": t.columns} for t in models}, buf, compress=3)
    files = {
        "model.joblib": buf.getvalue(),
        "features.json": json.dumps(manifest, indent=2, sort_keys=True).encode(),
        "metrics.json": json.dumps({t.name: {"metrics": t.metrics, "importances": t.importances, "params": t.params} for t in models}, indent=2, sort_keys=True).encode(),
    }
    for name, body in files.items():
        s3.put_object(Bucket=s.s3_bucket, Key=f"{prefix}{name}", Body=body)
    return f"s3://{s.s3_bucket}/{prefix}"


def store_run(conn: psycopg.Connection, run: dict, models: list[Trained], scoring: pd.DataFrame) -> int:
    """
    Replaces the run's rows (a retried attempt leaves one copy) with a row per model and the scores
    of each scoring model, in one transaction. Returns the customers scored.
    """
    scored = 0
    with conn.transaction():
        with conn.cursor() as cur:
            cur.execute("delete from churn_model_runs where run_id = %s", (run["run_id"],))
            for t in models:
                cur.execute(
                    """insert into churn_model_runs (run_id, model, cutoff, test_cutoff, train_cutoffs, horizon_days, params, metrics, importances,
                         training_rows, test_rows, scored_rows, duration_seconds, artefact, library_versions)
                       values (%s, %s, %s, %s, %s::date[], %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    (run["run_id"], t.name, run["cutoff"], run["test_cutoff"], run["train_cutoffs"], run["horizon_days"], json.dumps(t.params),
                     json.dumps(t.metrics), json.dumps(t.importances), run["training_rows"], run["test_rows"],
                     0 if t.name == "recency_baseline" else len(scoring), run["duration_seconds"], run["artefact"], json.dumps(run["versions"])),
                )
            for t in models:
                if t.name == "recency_baseline" or len(scoring) == 0:
                    continue
                score = np.clip(t.predict(scoring), 0.0, 1.0)
                bands = risk_bands(score)
                with cur.copy("copy churn_scores (run_id, model, customer_id, score, risk_band, country, top_category) from stdin") as copy:
                    for cid, sc, band, country, cat in zip(scoring["customer_id"], score, bands, scoring["country"], scoring["top_category"]):
                        copy.write_row((run["run_id"], t.name, cid, float(sc), str(band), country, cat))
                scored = len(scoring)
    return scored
