"""Credit PD models: monotone constraints, calibration, protected inputs, scorecard tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.errors import FeatureError, NotFittedError, ProtectedAttributeError
from cartwise.models.base import ProbabilisticClassifier
from cartwise.models.credit import CreditFeature, MonotonePDModel, ScorecardModel
from cartwise.models.credit.frame import model_frame
from cartwise.models.credit.synthetic import BNPL_CREDIT_FEATURES, synthetic_applicants
from cartwise.models.metrics import expected_calibration_error, roc_auc

ECE_BOUND = 0.04
"""Held-out ECE (10 bins) both calibrated models must stay under on 4,000 synthetic applicants."""


@pytest.fixture(scope="module")
def train() -> object:
    return synthetic_applicants(3_000, seed=11)


@pytest.fixture(scope="module")
def held_out() -> object:
    return synthetic_applicants(4_000, seed=12)


@pytest.fixture(scope="module")
def gbdt(train: object) -> MonotonePDModel:
    return MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=1, n_estimators=300).fit(train.X, train.y)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def scorecard(train: object) -> ScorecardModel:
    small = synthetic_applicants(1_500, seed=13)
    return ScorecardModel(BNPL_CREDIT_FEATURES, calibration_folds=2).fit(small.X, small.y)


def test_models_follow_the_probabilistic_classifier_contract(
    gbdt: MonotonePDModel, scorecard: ScorecardModel
) -> None:
    for model in (gbdt, scorecard):
        assert isinstance(model, ProbabilisticClassifier)
    unfitted = MonotonePDModel(BNPL_CREDIT_FEATURES)
    assert not [k for k in vars(unfitted) if k.endswith("_")]  # __init__ learns nothing
    with pytest.raises(NotFittedError, match="not fitted"):
        unfitted.predict_proba(pd.DataFrame())


@pytest.mark.parametrize("model_name", ["gbdt", "scorecard"])
def test_pd_is_monotone_in_every_constrained_feature(
    model_name: str, request: pytest.FixtureRequest, held_out: object
) -> None:
    """Partial dependence on 60 random applicants: sweeping a +1 feature never lowers PD, a -1 one never raises it."""
    model = request.getfixturevalue(model_name)
    rng = np.random.default_rng(5)
    X = held_out.X.iloc[rng.choice(len(held_out.X), 60, replace=False)]  # type: ignore[attr-defined]
    checked = 0
    for f in BNPL_CREDIT_FEATURES:
        if f.direction == 0:
            continue
        values = held_out.X[f.name].dropna()  # type: ignore[attr-defined]
        grid = np.unique(np.quantile(values, np.linspace(0, 1, 15)))
        curves = np.column_stack([model.predict_proba(X.assign(**{f.name: v}))[:, 1] for v in grid])
        steps = np.diff(curves, axis=1) * f.direction
        assert steps.min() >= -1e-9, f"{model_name}: PD moves against the declared direction of {f.name}"
        checked += 1
    assert checked == sum(1 for f in BNPL_CREDIT_FEATURES if f.direction != 0)


def test_an_unconstrained_model_would_break_monotonicity_somewhere(train: object, held_out: object) -> None:
    """The partial-dependence check has teeth: without constraints the same data gives a non-monotone curve."""
    free = tuple(
        CreditFeature(f.name, 0, f.categorical, f.reason_code, f.reason_text) for f in BNPL_CREDIT_FEATURES
    )
    model = MonotonePDModel(free, nthread=1, n_estimators=120, max_depth=6, min_child_weight=1.0).fit(
        train.X, train.y
    )  # type: ignore[attr-defined]
    X = held_out.X.iloc[:60]  # type: ignore[attr-defined]
    worst = 0.0
    for f in BNPL_CREDIT_FEATURES:
        if f.direction == 0:
            continue
        grid = np.unique(np.quantile(held_out.X[f.name].dropna(), np.linspace(0, 1, 15)))  # type: ignore[attr-defined]
        curves = np.column_stack([model.raw_score(X.assign(**{f.name: v})) for v in grid])
        worst = min(worst, float((np.diff(curves, axis=1) * f.direction).min()))
    assert worst < -1e-6


@pytest.mark.parametrize("model_name", ["gbdt", "scorecard"])
def test_calibration_error_is_small_on_held_out_data(
    model_name: str, request: pytest.FixtureRequest, held_out: object
) -> None:
    model = request.getfixturevalue(model_name)
    p = model.predict_proba(held_out.X)[:, 1]  # type: ignore[attr-defined]
    assert expected_calibration_error(held_out.y, p) < ECE_BOUND  # type: ignore[attr-defined]
    assert roc_auc(held_out.y, p) > 0.75  # type: ignore[attr-defined]
    assert model.calibrator_.method_ in ("isotonic", "platt")


@pytest.mark.parametrize("model_cls", [MonotonePDModel, ScorecardModel])
@pytest.mark.parametrize("column", ["age_band", "gender", "Sex", "marital_status", "age_in_years"])
def test_protected_attribute_as_input_is_refused(model_cls: type, column: str, train: object) -> None:
    X = train.X.assign(**{column: 1.0})  # type: ignore[attr-defined]
    feats = (*BNPL_CREDIT_FEATURES, CreditFeature(column, 0))
    with pytest.raises(ProtectedAttributeError, match="protected attribute"):
        model_cls(feats).fit(X, train.y)  # type: ignore[attr-defined]


def test_bad_inputs_get_clear_errors(train: object) -> None:
    X, y = train.X, train.y  # type: ignore[attr-defined]
    with pytest.raises(FeatureError, match="lacks declared credit feature"):
        MonotonePDModel(BNPL_CREDIT_FEATURES).fit(X.drop(columns="tenure_days"), y)
    with pytest.raises(FeatureError, match="0 \\(repaid\\) or 1"):
        MonotonePDModel(BNPL_CREDIT_FEATURES).fit(X, y * 2)
    with pytest.raises(FeatureError, match="direction"):
        MonotonePDModel((CreditFeature("tenure_days", 2),)).fit(X, y)
    with pytest.raises(FeatureError, match="nthread"):
        MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=8).fit(X, y)
    with pytest.raises(FeatureError, match=r"n_bags=2\.5 must be a whole number"):
        MonotonePDModel(BNPL_CREDIT_FEATURES, n_bags=2.5).fit(X, y)  # type: ignore[arg-type]
    with pytest.raises(FeatureError, match="declare it categorical"):
        MonotonePDModel(BNPL_CREDIT_FEATURES).fit(X.assign(tenure_days="long"), y)


def test_unseen_category_scores_like_missing(gbdt: MonotonePDModel, held_out: object) -> None:
    X = held_out.X.iloc[:20]  # type: ignore[attr-defined]
    unseen = gbdt.predict_proba(X.assign(merchant_category="never-seen"))[:, 1]
    missing = gbdt.predict_proba(X.assign(merchant_category=None))[:, 1]
    np.testing.assert_allclose(unseen, missing)


@pytest.mark.filterwarnings("ignore:.*(incompatible dtype|inplace keyword).*")
def test_scorecard_tables_reproduce_optbinning_scores(scorecard: ScorecardModel, held_out: object) -> None:
    """The plain-JSON points tables score exactly as optbinning's own Scorecard does on the same data."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    small = synthetic_applicants(1_500, seed=13)
    kept = [c["name"] for c in scorecard.characteristics_]
    feats = {f.name: f for f in BNPL_CREDIT_FEATURES}
    trend = {1: "ascending", -1: "descending"}
    reference = Scorecard(
        binning_process=BinningProcess(
            variable_names=kept,
            categorical_variables=[n for n in kept if feats[n].categorical],
            max_n_bins=scorecard.max_n_bins,
            min_bin_size=scorecard.min_bin_size,
            binning_fit_params={
                n: {"monotonic_trend": trend[feats[n].direction]} for n in kept if feats[n].direction
            },
        ),
        estimator=LogisticRegression(C=scorecard.C, max_iter=1000),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600},
    )
    train_frame = model_frame(small.X, scorecard.features_, scorecard.categories_)
    reference.fit(
        scorecard._optbinning_frame(train_frame)[kept],
        small.y.astype(int),
        metric_special="empirical",
        metric_missing="empirical",
    )
    X = held_out.X.iloc[:500]  # type: ignore[attr-defined]
    test_frame = scorecard._optbinning_frame(model_frame(X, scorecard.features_, scorecard.categories_))
    np.testing.assert_allclose(scorecard.score(X), reference.score(test_frame[kept]), atol=1e-6)
    # The score is linear in the logistic regression's log-odds (points to double the odds).
    np.testing.assert_allclose(
        scorecard.raw_score(X), reference.predict_proba(test_frame[kept])[:, 1], atol=1e-9
    )


def test_scorecard_scaling_and_points_lost(scorecard: ScorecardModel, held_out: object) -> None:
    # 600 points at odds 50:1 (good:bad), 20 points double the odds.
    assert scorecard._raw_pd(np.array([600.0]))[0] == pytest.approx(1 / 51)
    assert scorecard._raw_pd(np.array([620.0]))[0] == pytest.approx(1 / 101)
    table = scorecard.points_table_
    assert {"characteristic", "attribute", "points"} <= set(table.columns)
    X = held_out.X.iloc[:200]  # type: ignore[attr-defined]
    lost = scorecard.points_lost(X)
    assert (lost.to_numpy() >= 0).all()
    # More late installments never earns more points.
    late = table[(table["characteristic"] == "n_late_installments") & (table["count"] > 0)][
        "points"
    ].to_numpy()
    assert (np.diff(late) <= 1e-9).all()


def test_merged_booster_is_the_mean_of_its_bags(train: object) -> None:
    """Margins and TreeSHAP contributions (bias included) of the merged booster are the bags' means."""
    import xgboost as xgb

    from cartwise.models.credit.frame import learn_categories
    from cartwise.models.credit.monotone import merge_boosters

    params = MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=1).xgb_params()
    categories = learn_categories(train.X, BNPL_CREDIT_FEATURES)  # type: ignore[attr-defined]
    frame = model_frame(train.X, BNPL_CREDIT_FEATURES, categories)  # type: ignore[attr-defined]
    data = xgb.DMatrix(frame, label=train.y, enable_categorical=True)  # type: ignore[attr-defined]
    boosters = [xgb.train({**params, "seed": s}, data, num_boost_round=40) for s in (0, 1, 2)]
    merged = merge_boosters(boosters)
    assert merged.num_boosted_rounds() == 120
    margins = np.mean([b.predict(data, output_margin=True) for b in boosters], axis=0)
    np.testing.assert_allclose(merged.predict(data, output_margin=True), margins, atol=1e-5)
    contribs = np.mean([b.predict(data, pred_contribs=True) for b in boosters], axis=0)
    np.testing.assert_allclose(merged.predict(data, pred_contribs=True), contribs, atol=1e-5)

    fewer = frame.drop(columns=[frame.columns[0]])
    other = xgb.train(
        {k: v for k, v in params.items() if k != "monotone_constraints"},
        xgb.DMatrix(fewer, label=train.y, enable_categorical=True),  # type: ignore[attr-defined]
        num_boost_round=5,
    )
    with pytest.raises(FeatureError, match="feature_names differ"):
        merge_boosters([boosters[0], other])
    with pytest.raises(FeatureError, match="at least one"):
        merge_boosters([])


def test_bagged_model_is_monotone_calibrated_and_bundles(
    train: object, held_out: object, tmp_path: object
) -> None:
    """n_bags averages seeded boosters into one booster: still monotone, calibrated, and it bundles."""
    from cartwise.models.credit.bundle import load_bundle, to_bundle

    model = MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=1, n_estimators=150, n_bags=3).fit(train.X, train.y)  # type: ignore[attr-defined]
    single = MonotonePDModel(BNPL_CREDIT_FEATURES, nthread=1, n_estimators=150).fit(train.X, train.y)  # type: ignore[attr-defined]
    assert model.booster_.num_boosted_rounds() > single.booster_.num_boosted_rounds()
    X = held_out.X.iloc[:60]  # type: ignore[attr-defined]
    for f in BNPL_CREDIT_FEATURES:
        if f.direction == 0:
            continue
        grid = np.unique(np.quantile(held_out.X[f.name].dropna(), np.linspace(0, 1, 15)))  # type: ignore[attr-defined]
        curves = np.column_stack([model.raw_score(X.assign(**{f.name: v})) for v in grid])
        assert (np.diff(curves, axis=1) * f.direction).min() >= -1e-9, f.name
    p = model.predict_proba(held_out.X)[:, 1]  # type: ignore[attr-defined]
    assert expected_calibration_error(held_out.y, p) < ECE_BOUND  # type: ignore[attr-defined]
    assert roc_auc(held_out.y, p) > 0.75  # type: ignore[attr-defined]
    to_bundle(model, tmp_path)
    again = load_bundle(tmp_path).model
    np.testing.assert_array_equal(again.predict_proba(held_out.X), model.predict_proba(held_out.X))  # type: ignore[attr-defined]
