"""FraudModel: the fit/predict_proba contract, determinism, calibration, TreeSHAP contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.errors import FeatureError, MetricInputError, NotFittedError
from cartwise.models.base import ProbabilisticClassifier
from cartwise.models.calibration import logit
from cartwise.models.fraud import FraudModel
from cartwise.models.metrics import expected_calibration_error, roc_auc

FEATURES = [
    "customer__checkouts__count__1d",
    "device__checkouts__count__1h",
    "amount_over_customer_mean_30d",
    "merchant_fraud_rate_14d",
    "tx_amount",
    "noise",
]


def synthetic_orders(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Orders whose fraud odds rise with velocity, amount spikes and merchant fraud rate (~5% fraud)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "customer__checkouts__count__1d": rng.poisson(1.5, n).astype(float),
            "device__checkouts__count__1h": rng.poisson(0.5, n).astype(float),
            "amount_over_customer_mean_30d": rng.lognormal(0, 0.6, n),
            "merchant_fraud_rate_14d": rng.beta(1, 40, n),
            "tx_amount": rng.lognormal(4, 0.8, n),
            "noise": rng.normal(size=n),
        }
    )
    X.loc[rng.uniform(size=n) < 0.05, "amount_over_customer_mean_30d"] = np.nan  # new customers
    z = (
        -4.2
        + 0.5 * X["device__checkouts__count__1h"]
        + 0.8 * np.log(X["amount_over_customer_mean_30d"].fillna(1.0)) ** 2
        + 30 * X["merchant_fraud_rate_14d"]
        + 0.2 * X["customer__checkouts__count__1d"]
    )
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    X, y = synthetic_orders(6000, seed=1)
    X_test, y_test = synthetic_orders(6000, seed=2)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def model(data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]) -> FraudModel:
    X, y, _, _ = data
    return FraudModel(n_estimators=60, max_depth=3, learning_rate=0.1).fit(X, y)


def test_follows_the_classifier_contract(model: FraudModel, data: tuple) -> None:
    _, _, X_test, y_test = data
    assert isinstance(model, ProbabilisticClassifier)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc(y_test, proba[:, 1]) > 0.7
    assert FraudModel().__dict__.keys() == FraudModel().get_params().keys()  # __init__ only stores arguments


def test_same_seed_same_model_different_seed_different_model(data: tuple) -> None:
    X, y, X_test, _ = data
    params = {"n_estimators": 25, "max_depth": 3, "subsample": 0.7, "colsample_bytree": 0.7}
    a = FraudModel(random_state=7, **params).fit(X, y)
    b = FraudModel(random_state=7, **params).fit(X, y)
    c = FraudModel(random_state=8, **params).fit(X, y)
    assert bytes(a.booster_.save_raw("json")) == bytes(b.booster_.save_raw("json"))
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    assert not np.array_equal(a.decision_score(X_test), c.decision_score(X_test))


def test_calibration_undoes_class_weighting(model: FraudModel, data: tuple) -> None:
    _, y, X_test, y_test = data
    raw = model.decision_score(X_test)
    p = model.predict_proba(X_test)[:, 1]
    # balanced weights push raw scores far above the ~5% base rate; calibration brings them back
    assert raw.mean() > 3 * y.mean()
    assert p.mean() == pytest.approx(y_test.mean(), abs=0.015)
    assert expected_calibration_error(y_test, p) < expected_calibration_error(y_test, raw) / 3


def test_explicit_calibration_set_is_used(data: tuple) -> None:
    X, y, X_test, y_test = data
    model = FraudModel(n_estimators=20, max_depth=3, calibration="platt").fit(
        X, y, calibration_set=(X_test, y_test)
    )
    assert model.calibrator_ is not None
    assert model.calibrator_.method_ == "platt"


def test_contributions_sum_to_the_margin(model: FraudModel, data: tuple) -> None:
    _, _, X_test, _ = data
    contribs = model.feature_contributions(X_test.iloc[:200])
    assert list(contribs.columns) == [*FEATURES, "bias"]
    np.testing.assert_allclose(
        contribs.sum(axis=1), logit(model.decision_score(X_test.iloc[:200])), atol=2e-4
    )


def test_errors_name_the_problem(model: FraudModel, data: tuple) -> None:
    X, y, _, _ = data
    with pytest.raises(NotFittedError, match="not fitted"):
        FraudModel().predict_proba(X)
    with pytest.raises(FeatureError, match="tx_amount"):
        model.predict_proba(X.drop(columns=["tx_amount"]))
    with pytest.raises(FeatureError, match="not numeric"):
        model.predict_proba(X.assign(noise="high"))
    with pytest.raises(MetricInputError, match="n_jobs"):
        FraudModel(n_jobs=8).fit(X, y)
    with pytest.raises(MetricInputError, match="at least one fraud"):
        FraudModel().fit(X, np.zeros(len(X)))
    with pytest.raises(FeatureError, match="DataFrame"):
        FraudModel().fit(X.to_numpy(), y)  # type: ignore[arg-type]
