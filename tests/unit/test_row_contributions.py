"""The compiled TreeSHAP gives XGBoost's own ``pred_contribs`` values, on every kind of row and tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from cartwise.models.contributions import RowContributions, _LeafPaths, _probe_rows

TOLERANCE = 1e-5  # XGBoost sums in float32; the compiled form in float64


def _train(
    n_features: int, *, depth: int, rounds: int, seed: int = 0, **params: object
) -> tuple[xgb.Booster, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, n_features)).astype(np.float32)
    X[:, 1] = np.round(X[:, 1] * 2)  # few distinct values: rows often sit exactly on a threshold
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) * np.nan_to_num(X[:, 2]) > 0.5).astype(float)
    names = [f"f{i}" for i in range(n_features)]
    data = xgb.DMatrix(X, label=y, feature_names=names)
    settings = {"max_depth": depth, "nthread": 1, "seed": seed, "objective": "binary:logistic", **params}
    return xgb.train(settings, data, num_boost_round=rounds), X


def _named(booster: xgb.Booster, rows: np.ndarray) -> np.ndarray:
    return np.asarray(
        booster.predict(xgb.DMatrix(rows, feature_names=booster.feature_names), pred_contribs=True),
        dtype=np.float64,
    )


@pytest.fixture(scope="module")
def booster() -> xgb.Booster:
    return _train(12, depth=5, rounds=40)[0]


def test_equals_the_named_pred_contribs(booster: xgb.Booster) -> None:
    contributions = RowContributions(booster)
    assert contributions.compiled
    rows = np.random.default_rng(1).normal(size=(50, 12)).astype(np.float32)
    rows[::7, 2] = np.nan
    rows[::5, 1] = 1.0
    named = _named(booster, rows)
    for i, row in enumerate(rows):
        one = contributions(row.reshape(1, -1))
        np.testing.assert_allclose(one, named[i], rtol=0, atol=TOLERANCE)
        assert one[-1] == pytest.approx(named[i, -1], abs=1e-7)  # the bias
    assert booster.feature_names == [f"f{i}" for i in range(12)]  # the original keeps its names


def test_contributions_add_up_to_the_margin(booster: xgb.Booster) -> None:
    rows = np.random.default_rng(2).normal(size=(30, 12)).astype(np.float32)
    margin = booster.predict(xgb.DMatrix(rows, feature_names=booster.feature_names), output_margin=True)
    np.testing.assert_allclose(RowContributions(booster).rows(rows).sum(axis=1), margin, atol=1e-5)


def test_rows_on_and_just_below_every_kind_of_threshold(booster: xgb.Booster) -> None:
    """A row equal to a split threshold goes right, one step below goes left, a missing value goes the default way."""
    contributions = RowContributions(booster)
    paths = _LeafPaths.from_booster(booster)
    rows = _probe_rows(paths, 12)
    on_threshold = np.tile(rows[:1], (len(paths.split_threshold), 1))
    on_threshold[np.arange(len(on_threshold)), paths.split_feature] = paths.split_threshold
    below = on_threshold.copy()
    below[np.arange(len(below)), paths.split_feature] = np.nextafter(
        paths.split_threshold, np.float32(-np.inf)
    )
    for probe in (rows, on_threshold, below):
        np.testing.assert_allclose(contributions.rows(probe), _named(booster, probe), atol=TOLERANCE)


@pytest.mark.parametrize(
    ("n_features", "depth", "rounds", "params"),
    [
        (3, 8, 30, {}),  # few features, deep trees: a feature recurs on a path
        (20, 6, 60, {"subsample": 0.7, "colsample_bytree": 0.5}),
        (6, 4, 30, {"gamma": 50.0}),  # many trees are a single leaf
        (8, 4, 30, {"monotone_constraints": "(1,0,-1,0,0,0,0,0)", "tree_method": "hist"}),
        (8, 3, 20, {"objective": "reg:squarederror", "base_score": 0.3}),
    ],
)
def test_matches_xgboost_across_tree_shapes(
    n_features: int, depth: int, rounds: int, params: dict[str, object]
) -> None:
    booster, X = _train(n_features, depth=depth, rounds=rounds, seed=n_features, **params)
    contributions = RowContributions(booster)
    assert contributions.compiled
    rows = X[:200]
    np.testing.assert_allclose(contributions.rows(rows), _named(booster, rows), atol=TOLERANCE)


def test_a_batch_gives_each_row_what_it_gets_alone(booster: xgb.Booster) -> None:
    contributions = RowContributions(booster)
    rows = np.random.default_rng(3).normal(size=(9, 12)).astype(np.float32)
    together = contributions.rows(rows)
    for i in range(len(rows)):
        assert np.array_equal(together[i], contributions(rows[i : i + 1]))


def test_categorical_splits_use_xgboosts_own_call() -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=2000), "c": pd.Categorical(rng.integers(0, 6, size=2000))})
    y = (frame["a"] + (frame["c"].cat.codes % 2) > 0.5).astype(float)
    data = xgb.DMatrix(frame, label=y, enable_categorical=True)
    booster = xgb.train({"max_depth": 3, "nthread": 1, "max_cat_to_onehot": 1}, data, num_boost_round=10)
    contributions = RowContributions(booster)
    assert not contributions.compiled
    rows = np.column_stack([rng.normal(size=20), rng.integers(0, 6, size=20)]).astype(np.float32)
    assert np.array_equal(contributions.rows(rows), contributions.reference(rows))


def test_a_compiled_form_that_disagrees_with_xgboost_is_caught(booster: xgb.Booster) -> None:
    paths = _LeafPaths.from_booster(booster)
    probes = _probe_rows(paths, 12)
    reference = RowContributions(booster).reference(probes)
    paths.bias = float(reference[0, -1])
    assert paths.check(probes, reference) == ""
    paths.table[:] = 0.0
    assert "differs from XGBoost" in paths.check(probes, reference)


def test_a_row_of_the_wrong_width_is_refused(booster: xgb.Booster) -> None:
    with pytest.raises(ValueError, match="12 features"):
        RowContributions(booster)(np.zeros((1, 11), np.float32))


def test_without_a_writable_cache_the_kernels_compile_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba refuses ``cache=True`` when no cache directory is writable (a read-only root file system).

    Running as root here, no directory can be made unwritable, so numba's refusal is
    simulated: ``njit(cache=True)`` raises the RuntimeError numba raises then.
    """
    import numba

    from cartwise.models import contributions

    real = numba.njit

    def njit(**options: object) -> object:
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'f.py'")
        return real(**options)

    monkeypatch.setattr(contributions.numba, "njit", njit)

    def add(a: float, b: float) -> float:
        return a + b

    assert contributions._compiled(add)(1.0, 2.0) == 3.0


def test_a_merged_booster_is_compiled_and_matches_xgboost() -> None:
    """Boosters merged by the credit model's bagging (leaf values scaled, trees concatenated) pass the self-check."""
    from cartwise.models.credit.monotone import merge_boosters

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6)).astype(np.float32)
    X[:, 1] = np.round(X[:, 1] * 2)
    X[rng.random(X.shape) < 0.1] = np.nan
    data = xgb.DMatrix(
        X, label=(np.nan_to_num(X[:, 0] + X[:, 1]) > 0.5), feature_names=[f"f{i}" for i in range(6)]
    )
    settings = {
        "max_depth": 4,
        "nthread": 1,
        "objective": "binary:logistic",
        "subsample": 0.7,
        "colsample_bynode": 0.7,
    }
    bags = [xgb.train({**settings, "seed": s}, data, num_boost_round=15) for s in (0, 1, 2)]
    merged = merge_boosters(bags)
    contributions = RowContributions(merged)
    assert contributions.compiled
    rows = np.random.default_rng(3).normal(size=(40, 6)).astype(np.float32)
    rows[::4, 1] = 1.0
    np.testing.assert_allclose(contributions.rows(rows), _named(merged, rows), rtol=0, atol=TOLERANCE)
