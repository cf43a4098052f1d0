"""One-row TreeSHAP through the anonymous booster equals XGBoost's named call exactly."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from cartwise.models.contributions import RowContributions


@pytest.fixture(scope="module")
def booster() -> xgb.Booster:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 12)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (X[:, 0] + np.nan_to_num(X[:, 3]) * X[:, 1] > 0.5).astype(float)
    names = [f"f{i}" for i in range(12)]
    data = xgb.DMatrix(X, label=y, feature_names=names)
    return xgb.train({"max_depth": 5, "nthread": 1, "seed": 1}, data, num_boost_round=40)


def test_equals_the_named_pred_contribs(booster: xgb.Booster) -> None:
    contributions = RowContributions(booster)
    rows = np.random.default_rng(1).normal(size=(50, 12)).astype(np.float32)
    rows[::7, 2] = np.nan
    for row in rows:
        one = row.reshape(1, -1)
        named = booster.predict(xgb.DMatrix(one, feature_names=booster.feature_names), pred_contribs=True)[0]
        assert np.array_equal(contributions(one), named)
    assert booster.feature_names == [f"f{i}" for i in range(12)]  # the original keeps its names


def test_a_row_of_the_wrong_width_is_refused(booster: xgb.Booster) -> None:
    with pytest.raises(ValueError, match="12 features"):
        RowContributions(booster)(np.zeros((1, 11), np.float32))
