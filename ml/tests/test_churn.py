"""Pure tests of shop_ml.churn on synthetic frames (no services): bad input, leakage guard, bands, metrics."""
import numpy as np
import pandas as pd
import pytest

from shop_ml.churn import CATEGORICAL, NUMERIC, ChurnInputError, Labelled, LeakageSuspected, evaluate, risk_bands, top_decile, train_and_evaluate


def frame(n: int, seed: int, churn_from_recency: float = 1.0, leak: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {c: rng.normal(size=n) for c in NUMERIC}
    data["recency_days"] = rng.integers(0, 30, size=n).astype(float)
    p = 1 / (1 + np.exp(-(data["recency_days"] - 15) / 5 * churn_from_recency))
    churned = rng.random(n) < p
    if leak:
        data["return_rate"] = churned.astype(float)  # a feature that is the label
    data["country"] = rng.choice(["US", "DE", "FR"], size=n)
    data["top_category"] = rng.choice(["garden", "toys"], size=n)
    data["customer_id"] = [f"c{i}" for i in range(n)]
    data["churned"] = churned
    return pd.DataFrame(data)


def test_single_class_is_a_clear_error_naming_cutoff_and_counts():
    train = frame(300, 1)
    test = frame(200, 2)
    test["churned"] = True
    with pytest.raises(ChurnInputError, match=r"single class .*test cutoff 2026-10-01: 200 churned and 0 retained of 200"):
        train_and_evaluate(Labelled(train, ["2026-09-01"]), Labelled(test, ["2026-10-01"]), seed=1)


def test_too_few_customers_is_a_clear_error():
    with pytest.raises(ChurnInputError, match=r"too few customers at the training cutoffs 2026-09-01, 2026-09-08: 20"):
        train_and_evaluate(Labelled(frame(20, 1), ["2026-09-01", "2026-09-08"]), Labelled(frame(200, 2), ["2026-10-01"]), seed=1)


def test_a_feature_that_is_the_label_fails_as_leakage():
    with pytest.raises(LeakageSuspected, match=r"above 0.95 .*\(label leakage\)"):
        train_and_evaluate(Labelled(frame(600, 1, leak=True), ["a"]), Labelled(frame(400, 2, leak=True), ["b"]), seed=1)


def test_models_learn_a_real_signal_and_report_every_metric():
    models = train_and_evaluate(Labelled(frame(1500, 1), ["a"]), Labelled(frame(800, 2), ["b"]), seed=1)
    assert [m.name for m in models] == ["recency_baseline", "logistic_regression", "gradient_boosting"]
    for m in models:
        assert {"roc_auc", "pr_auc", "brier", "precision_top_decile", "recall_top_decile", "lift_over_recency", "auc_over_recency", "calibration_error"} <= set(m.metrics)
        assert 0.7 < m.metrics["roc_auc"] <= 0.95
    # The planted driver is recency; the permutation importance of both models must put it first.
    for m in models[1:]:
        assert next(iter(m.importances)) == "recency_days"
        assert set(m.importances) == set(NUMERIC + CATEGORICAL)


def test_metrics_by_hand():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.6, 0.2, 0.3, 0.1, 0.1, 0.05])
    assert top_decile(y, s) == (1.0, 1 / 3)
    m = evaluate(y, s)
    assert m["base_rate"] == 0.3 and abs(m["lift_top_decile"] - 1 / 0.3) < 1e-12
    assert abs(m["brier"] - np.mean((s - y) ** 2)) < 1e-12


def test_risk_bands_by_rank():
    bands = risk_bands(np.linspace(1, 0, 100))
    assert list(bands[:10]) == ["high"] * 10 and list(bands[10:30]) == ["medium"] * 20 and set(bands[30:]) == {"low"}
