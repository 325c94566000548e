"""
Churn models, pure: no database, no lake, no Temporal. Given feature frames of earlier cutoffs (train)
and a later one (test), it fits a logistic regression and a gradient-boosted tree model, calibrates
both, evaluates them on the test cutoff against a recency-only baseline, and scores a frame.

Everything here is scikit-learn; this module only chooses, wires and measures (docs/churn.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

#: Columns of work.churn_features used as model inputs (customer_id is the key, never a feature).
NUMERIC = [
    "recency_days", "orders_total", "orders_28d", "orders_7d", "frequency_trend", "revenue_total",
    "avg_order_value", "tenure_days", "sessions_per_week", "views_per_week", "cart_adds_per_week",
    "wishlist_per_week", "visit_trend", "returns_total", "return_rate", "view_to_cart", "cart_to_order", "days_since_last_visit",
]
CATEGORICAL = ["country", "top_category"]
FEATURES = NUMERIC + CATEGORICAL

#: Below these, a fit says nothing; the run stops with ChurnInputError instead of a library crash.
MIN_ROWS = 50
MIN_PER_CLASS = 10
#: An AUC above this on the generator's (or a shop's) data means a feature saw the label.
MAX_PLAUSIBLE_AUC = 0.95
#: Risk bands by rank of the score: the top decile is high, the next 20% medium.
HIGH_SHARE = 0.10
MEDIUM_SHARE = 0.20


class ChurnInputError(ValueError):
    """Data a model cannot be trained or judged on: too few customers, or a single class."""


class LeakageSuspected(RuntimeError):
    """A test AUC too good to be true."""


@dataclass
class Labelled:
    """Features with their label, of one or more cutoffs."""

    frame: pd.DataFrame  # FEATURES + customer_id + churned (+ cutoff)
    cutoffs: list[str]

    @property
    def y(self) -> np.ndarray:
        return self.frame["churned"].astype(int).to_numpy()

    def counts(self) -> dict[str, int]:
        y = self.y
        return {"rows": int(len(y)), "churned": int(y.sum()), "retained": int(len(y) - y.sum())}


def check_trainable(train: Labelled, test: Labelled) -> None:
    """Raises ChurnInputError naming the cutoffs and the counts when either side cannot be used."""
    for name, part in (("training", train), ("test", test)):
        c = part.counts()
        where = f"{name} cutoff{'s' if len(part.cutoffs) != 1 else ''} {', '.join(part.cutoffs) or '(none)'}"
        if c["rows"] < MIN_ROWS:
            raise ChurnInputError(f"too few customers at the {where}: {c['rows']} (churned {c['churned']}, retained {c['retained']}); at least {MIN_ROWS} are needed")
        if min(c["churned"], c["retained"]) < MIN_PER_CLASS:
            raise ChurnInputError(
                f"a single class (or nearly) at the {where}: {c['churned']} churned and {c['retained']} retained of {c['rows']} customers;"
                f" each needs at least {MIN_PER_CLASS}. Is there data after the cutoff, and is the horizon right?"
            )


def _as_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame[columns].copy()
    for c in columns:
        if c in CATEGORICAL:
            out[c] = out[c].astype(str)
        else:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def logistic_regression(seed: int, columns: list[str] | None = None) -> Pipeline:
    numeric = [c for c in (columns or FEATURES) if c in NUMERIC]
    categorical = [c for c in (columns or FEATURES) if c in CATEGORICAL]
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())]), numeric),
        *([("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=20), categorical)] if categorical else []),
    ])
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000, C=1.0, random_state=seed))])


#: Shallow, slow and subsampled: a shop's churn table is small and noisy (docs/churn.md has the comparison).
GB_PARAMS = {"max_iter": 150, "learning_rate": 0.05, "max_leaf_nodes": 8, "min_samples_leaf": 50, "l2_regularization": 1.0, "max_features": 0.5}


def gradient_boosting(seed: int) -> Pipeline:
    prep = ColumnTransformer([
        ("num", "passthrough", NUMERIC),  # missing values are handled natively by the trees
        ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1), CATEGORICAL),
    ])
    model = HistGradientBoostingClassifier(
        max_iter=GB_PARAMS["max_iter"], learning_rate=GB_PARAMS["learning_rate"], max_leaf_nodes=GB_PARAMS["max_leaf_nodes"],
        min_samples_leaf=GB_PARAMS["min_samples_leaf"], l2_regularization=GB_PARAMS["l2_regularization"], max_features=GB_PARAMS["max_features"],
        categorical_features=[len(NUMERIC) + i for i in range(len(CATEGORICAL))], early_stopping=False, random_state=seed,
    )
    return Pipeline([("prep", prep), ("model", model)])


def calibrated(estimator: Pipeline, rows: int) -> CalibratedClassifierCV:
    # Isotonic needs data; below a few thousand rows the sigmoid (Platt) is the safer map.
    return CalibratedClassifierCV(estimator, method="isotonic" if rows >= 5000 else "sigmoid", cv=3)


def top_decile(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """Precision and recall of the highest-scored 10% (at least one customer)."""
    k = max(1, int(round(len(y) * 0.10)))
    order = np.argsort(-score, kind="stable")[:k]
    hits = float(y[order].sum())
    return hits / k, hits / max(1.0, float(y.sum()))


def calibration_error(y: np.ndarray, score: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width bins: how far predicted rates are from observed."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(float(score[mask].mean()) - float(y[mask].mean()))
    return total / len(y)


def evaluate(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    precision, recall = top_decile(y, score)
    base = float(y.mean())
    return {
        "roc_auc": float(roc_auc_score(y, score)),
        "pr_auc": float(average_precision_score(y, score)),
        "brier": float(brier_score_loss(y, score)),
        "calibration_error": calibration_error(y, score),
        "precision_top_decile": precision,
        "recall_top_decile": recall,
        "base_rate": base,
        "lift_top_decile": precision / base if base > 0 else 0.0,
    }


@dataclass
class Trained:
    name: str
    estimator: object
    columns: list[str]
    params: dict
    metrics: dict[str, float] = field(default_factory=dict)
    importances: dict[str, float] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.estimator.predict_proba(_as_frame(frame, self.columns))[:, 1]


def train_and_evaluate(train: Labelled, test: Labelled, seed: int, max_auc: float = MAX_PLAUSIBLE_AUC, importance_rows: int = 20_000) -> list[Trained]:
    """
    Fits the recency baseline, the logistic regression and the gradient-boosted trees on `train`,
    evaluates each on `test`, and ranks the two models' features by permutation importance (the drop
    of ROC AUC on the test cutoff when a feature's values are shuffled). Raises ChurnInputError or
    LeakageSuspected.
    """
    check_trainable(train, test)
    y_train, y_test = train.y, test.y
    candidates = [
        Trained("recency_baseline", LogisticRegression(max_iter=1000, random_state=seed), ["recency_days"], {"features": ["recency_days"], "calibration": "none (logistic)"}),
        Trained("logistic_regression", calibrated(logistic_regression(seed), len(y_train)), FEATURES, {"C": 1.0, "scaling": "standard", "one_hot_min_frequency": 20}),
        Trained("gradient_boosting", calibrated(gradient_boosting(seed), len(y_train)), FEATURES, dict(GB_PARAMS)),
    ]
    for t in candidates:
        if t.name == "recency_baseline":
            t.estimator = Pipeline([("impute", SimpleImputer(strategy="median")), ("model", t.estimator)])
        else:
            t.params["calibration"] = f"{t.estimator.method}, 3-fold"
        t.params["seed"] = seed
        t.estimator.fit(_as_frame(train.frame, t.columns), y_train)
        t.metrics = evaluate(y_test, t.predict(test.frame))
    baseline = candidates[0].metrics
    for t in candidates:
        t.metrics["auc_over_recency"] = t.metrics["roc_auc"] - baseline["roc_auc"]
        t.metrics["lift_over_recency"] = t.metrics["precision_top_decile"] / baseline["precision_top_decile"] if baseline["precision_top_decile"] > 0 else 0.0
    too_good = [t for t in candidates if t.metrics["roc_auc"] > max_auc]
    if too_good:
        names = ", ".join(f"{t.name} {t.metrics['roc_auc']:.3f}" for t in too_good)
        raise LeakageSuspected(
            f"test ROC AUC above {max_auc} ({names}) at test cutoff {', '.join(test.cutoffs)}: a feature probably reads data from after"
            " the cutoff (label leakage). Check work.churn_features; nothing was stored."
        )
    sample = test.frame.sample(n=min(importance_rows, len(test.frame)), random_state=seed) if len(test.frame) > importance_rows else test.frame
    for t in candidates[1:]:
        result = permutation_importance(t.estimator, _as_frame(sample, t.columns), sample["churned"].astype(int).to_numpy(), scoring="roc_auc", n_repeats=5, random_state=seed)
        t.importances = {c: float(v) for c, v in sorted(zip(t.columns, result.importances_mean), key=lambda kv: -kv[1])}
    candidates[0].importances = {"recency_days": candidates[0].metrics["roc_auc"] - 0.5}
    return candidates


def risk_bands(score: np.ndarray) -> np.ndarray:
    """'high' for the top decile by score, 'medium' for the next 20%, 'low' for the rest (ties by order)."""
    n = len(score)
    rank = np.empty(n, dtype=int)
    rank[np.argsort(-score, kind="stable")] = np.arange(n)
    high, medium = int(round(n * HIGH_SHARE)), int(round(n * (HIGH_SHARE + MEDIUM_SHARE)))
    return np.where(rank < high, "high", np.where(rank < medium, "medium", "low"))
