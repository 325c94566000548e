"""
The ML worker's activities. `trainChurnModels` is called by workflows/churn.ts (TypeScript) on the
`<base>-ml` task queue: Temporal carries the call across languages as JSON.
"""
from __future__ import annotations

import time

import psycopg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from .churn import FEATURES, CATEGORICAL, MAX_PLAUSIBLE_AUC, ChurnInputError, LeakageSuspected, train_and_evaluate
from .store import Settings, labelled, library_versions, save_artefact, store_run, unlabelled


def _summary(t) -> dict:
    top = list(t.importances.items())[:5]
    return {"model": t.name, "metrics": t.metrics, "topFeatures": [{"feature": k, "importance": v} for k, v in top]}


def make_activities(settings: Settings):
    @activity.defn(name="trainChurnModels")
    def train_churn_models(plan: dict) -> dict:
        """
        plan (workflows/churn.ts ChurnPlan): runId, cutoff, testCutoff, trainCutoffs, horizonDays,
        artefactPrefix, seed, maxAuc. Trains, evaluates, saves the artefact, stores runs and scores.
        Bad data and suspected leakage fail without retry (ApplicationError, non_retryable).
        """
        began = time.monotonic()
        try:
            seed = plan.get("seed", 1)
            if not isinstance(seed, int) or isinstance(seed, bool):
                raise ChurnInputError(f"seed must be a whole number, got {seed!r}")
            # Autocommit: the reads hold no transaction open while the models fit; store_run opens its own.
            with psycopg.connect(settings.analytics_url, application_name="shop-etl-ml", autocommit=True) as conn:
                train = labelled(conn, plan["trainCutoffs"], plan["horizonDays"])
                activity.heartbeat("features: training")
                test = labelled(conn, [plan["testCutoff"]], plan["horizonDays"])
                scoring = unlabelled(conn, plan["cutoff"])
                activity.heartbeat("features: test and scoring")
                models = train_and_evaluate(train, test, seed, float(plan.get("maxAuc", MAX_PLAUSIBLE_AUC)))
                activity.heartbeat("trained")
                versions = library_versions()
                manifest = {
                    "run_id": plan["runId"], "features": FEATURES, "categorical": CATEGORICAL,
                    "feature_sql": "work.churn_features(cutoff) in sql/analytics/code/070_churn.sql",
                    "label_sql": "work.churn_labels(cutoff, horizon_days)", "cutoff": plan["cutoff"], "test_cutoff": plan["testCutoff"],
                    "train_cutoffs": plan["trainCutoffs"], "horizon_days": plan["horizonDays"], "seed": seed, "library_versions": versions,
                }
                artefact = save_artefact(settings, plan["artefactPrefix"], models, manifest)
                run = {
                    "run_id": plan["runId"], "cutoff": plan["cutoff"], "test_cutoff": plan["testCutoff"], "train_cutoffs": plan["trainCutoffs"],
                    "horizon_days": plan["horizonDays"], "training_rows": len(train.frame), "test_rows": len(test.frame),
                    "duration_seconds": round(time.monotonic() - began, 3), "artefact": artefact, "versions": versions,
                }
                scored = store_run(conn, run, models, scoring)
        except ChurnInputError as err:  # `from None`: the failure names its own type, not the Python class beneath
            raise ApplicationError(str(err), type="ChurnInputError", non_retryable=True) from None
        except LeakageSuspected as err:
            raise ApplicationError(str(err), type="ChurnLeakageSuspected", non_retryable=True) from None
        return {
            "runId": plan["runId"], "artefact": artefact, "scored": scored, "trainingRows": len(train.frame), "testRows": len(test.frame),
            "train": train.counts(), "test": test.counts(), "durationSeconds": round(time.monotonic() - began, 3),
            "models": [_summary(t) for t in models], "libraryVersions": versions,
        }

    return [train_churn_models]
