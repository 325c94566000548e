"""
`python -m shop_ml.rescore <s3://bucket/models/churn/<run>/> <cutoff> <model>`: reproduces a run's
scores from its artefact alone: loads model.joblib from the lake, recomputes the features at the
cutoff with work.churn_features, and prints {customer_id: score} as JSON. Reads the same
environment as the worker (shop_ml/store.py Settings).
"""
from __future__ import annotations

import io
import json
import sys

import joblib
import numpy as np
import psycopg

from .churn import _as_frame
from .store import Settings, s3_client, unlabelled


def rescore(settings: Settings, artefact: str, cutoff: str, model: str) -> dict[str, float]:
    bucket, _, prefix = artefact.removeprefix("s3://").partition("/")
    body = s3_client(settings).get_object(Bucket=bucket, Key=f"{prefix}model.joblib")["Body"].read()
    fitted = joblib.load(io.BytesIO(body))[model]
    with psycopg.connect(settings.analytics_url, application_name="shop-etl-ml-rescore") as conn:
        frame = unlabelled(conn, cutoff)
    scores = np.clip(fitted["estimator"].predict_proba(_as_frame(frame, fitted["columns"]))[:, 1], 0.0, 1.0)
    return {cid: float(s) for cid, s in zip(frame["customer_id"], scores)}


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m shop_ml.rescore <s3://bucket/models/churn/<run>/> <cutoff YYYY-MM-DD> <model>")
    print(json.dumps(rescore(Settings.from_env(), sys.argv[1], sys.argv[2], sys.argv[3])))
