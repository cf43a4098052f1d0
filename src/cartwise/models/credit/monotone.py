"""Monotone, calibrated gradient-boosted PD model (XGBoost hist).

:class:`MonotonePDModel` follows the fit / predict_proba contract. Every declared feature
with a direction carries an XGBoost monotone constraint, so e.g. more days past due on
earlier plans can never lower the predicted probability of default; categorical features
use XGBoost's native categorical splits (unconstrained).

Fitting, all inside the given training data (no peeking at any test set):

1. ``calibration_folds`` stratified inner folds. On each, a booster is trained on the other
   folds with early stopping on this fold, and predicts this fold: out-of-fold raw scores.
2. The final booster is trained on all rows for the mean best number of rounds.
   With ``n_bags > 1`` steps 1-2 run once per bag, each with its own seed (inner folds and
   row/column sampling), and the bags' boosters are merged into one booster whose margin is
   the mean of theirs (:func:`merge_boosters`): on small training sets averaging lowers the
   variance of the fit, and scoring, bundles and TreeSHAP still see a single booster.
3. A :class:`~cartwise.models.calibration.ScoreCalibrator` (isotonic or Platt, chosen on
   held-out halves) is fitted on the out-of-fold raw scores — the same scheme as
   scikit-learn's ``CalibratedClassifierCV(ensemble=False)``.

TreeSHAP contributions (:meth:`MonotonePDModel.contributions`) give each feature's push on
the log-odds of default for each applicant; the reasons module turns them into adverse-action
reason codes.
"""

from __future__ import annotations

import json
import logging
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import StratifiedKFold

from cartwise.errors import FeatureError
from cartwise.models.base import check_is_fitted
from cartwise.models.calibration import ScoreCalibrator, logit
from cartwise.models.credit.features import CreditFeature, validate_features
from cartwise.models.credit.frame import check_frame, learn_categories, model_frame
from cartwise.models.metrics import roc_auc

__all__ = ["MonotonePDModel", "as_binary_target", "merge_boosters"]

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def as_binary_target(y: Any, n_rows: int) -> FloatArray:
    """0/1 float labels (1 = default) holding both classes, or a :class:`FeatureError`."""
    t = np.asarray(y, dtype=np.float64).ravel()
    if t.size != n_rows:
        raise FeatureError(f"y has {t.size} labels but X has {n_rows} rows; give one label per applicant")
    if not np.isin(t, (0.0, 1.0)).all():
        raise FeatureError("y must be 0 (repaid) or 1 (defaulted); recode the target before fitting")
    if t.min() == t.max():
        raise FeatureError("y holds a single class; a PD model needs both defaults and repayments")
    return t


def merge_boosters(boosters: Sequence[xgb.Booster], *, nthread: int = 1) -> xgb.Booster:
    """One booster whose margin is the mean of the given boosters' margins.

    The boosters must share their inputs and base score (trained on the same rows and
    features): the trees are concatenated with every leaf value (and node weight) divided
    by the number of boosters. Predictions, TreeSHAP contributions and the saved model then
    behave as one booster's.
    """
    if not boosters:
        raise FeatureError("merge_boosters needs at least one booster")
    models = [json.loads(bytes(b.save_raw(raw_format="json"))) for b in boosters]
    first = models[0]["learner"]
    shared = ("feature_names", "feature_types", "learner_model_param", "objective")
    for other in models[1:]:
        learner = other["learner"]
        for key in shared:
            if learner[key] != first[key]:
                raise FeatureError(
                    f"cannot merge boosters whose {key} differ; train them on the same rows and features"
                )
        if learner["gradient_booster"]["model"].get("cats") != first["gradient_booster"]["model"].get("cats"):
            raise FeatureError("cannot merge boosters whose categories differ; train them on the same frame")
    scale = 1.0 / len(models)
    trees: list[dict[str, Any]] = []
    for model in models:
        gbtree = model["learner"]["gradient_booster"]
        if (
            gbtree.get("name") != "gbtree"
            or gbtree["model"]["gbtree_model_param"]["num_parallel_tree"] != "1"
        ):
            raise FeatureError("merge_boosters merges gbtree boosters with one tree per round")
        for tree in gbtree["model"]["trees"]:
            leaves = np.asarray(tree["left_children"]) == -1
            conditions = np.asarray(tree["split_conditions"], dtype=np.float64)
            conditions[leaves] *= scale
            tree["split_conditions"] = conditions.tolist()
            tree["base_weights"] = [w * scale for w in tree["base_weights"]]
            tree["id"] = len(trees)
            trees.append(tree)
    merged = first["gradient_booster"]["model"]
    merged["trees"] = trees
    merged["tree_info"] = [0] * len(trees)
    merged["iteration_indptr"] = list(range(len(trees) + 1))
    merged["gbtree_model_param"]["num_trees"] = str(len(trees))
    first["attributes"] = {}
    out = xgb.Booster()
    out.load_model(bytearray(json.dumps(models[0]).encode()))
    out.set_param({"nthread": nthread})
    return out


class MonotonePDModel:
    """XGBoost PD model with declared monotone constraints and out-of-fold calibration.

    Parameters
    ----------
    features: the declared inputs (:class:`CreditFeature`: direction, categorical, reason code).
    n_estimators: the most boosting rounds; early stopping in the inner folds picks fewer.
    learning_rate, max_depth, min_child_weight, subsample, colsample_bytree, reg_lambda:
        XGBoost hyper-parameters.
    early_stopping_rounds: patience on the inner held-out fold (log-loss).
    calibration: ``"auto"``, ``"isotonic"`` or ``"platt"`` (see ScoreCalibrator).
    calibration_folds: inner folds giving out-of-fold scores for calibration.
    n_bags: boosters averaged into the final model, bag ``k`` seeded ``random_state + k``
        (1 = a single booster). Worth it on small training sets, where one booster's fit
        varies with its seed; it multiplies the training time.
    nthread: XGBoost threads (at most 2 on this project's machines).
    random_state: seed for folds and row/column sampling.
    """

    def __init__(
        self,
        features: Sequence[CreditFeature],
        *,
        n_estimators: int = 600,
        learning_rate: float = 0.05,
        max_depth: int = 4,
        min_child_weight: float = 5.0,
        subsample: float = 0.8,
        colsample_bytree: float = 0.7,
        reg_lambda: float = 5.0,
        early_stopping_rounds: int = 50,
        calibration: str = "auto",
        calibration_folds: int = 3,
        n_bags: int = 1,
        nthread: int = 1,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.n_bags = n_bags
        self.nthread = nthread
        self.random_state = random_state

    _PARAM_CHECKS: ClassVar[dict[str, tuple[float, float]]] = {
        "n_estimators": (1, 100_000),
        "learning_rate": (1e-6, 1.0),
        "max_depth": (1, 16),
        "min_child_weight": (0.0, 1e6),
        "subsample": (1e-3, 1.0),
        "colsample_bytree": (1e-3, 1.0),
        "reg_lambda": (0.0, 1e6),
        "early_stopping_rounds": (1, 100_000),
        "calibration_folds": (2, 20),
        "n_bags": (1, 100),
        "nthread": (1, 2),
    }

    _COUNTS: ClassVar[frozenset[str]] = frozenset(
        {"n_estimators", "max_depth", "early_stopping_rounds", "calibration_folds", "n_bags", "nthread"}
    )

    def _check_params(self) -> None:
        for name, (lo, hi) in self._PARAM_CHECKS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= float(value) <= hi:
                raise FeatureError(f"MonotonePDModel parameter {name}={value!r} must lie in [{lo}, {hi}]")
            if name in self._COUNTS and not isinstance(value, numbers.Integral):
                raise FeatureError(f"MonotonePDModel parameter {name}={value!r} must be a whole number")

    def xgb_params(self) -> dict[str, Any]:
        """The XGBoost training parameters, monotone constraints included."""
        feats = getattr(self, "features_", None) or validate_features(self.features)
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "eta": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "monotone_constraints": "(" + ",".join(str(f.direction) for f in feats) + ")",
            "max_cat_to_onehot": 1,
            "nthread": self.nthread,
            "seed": self.random_state,
        }

    def _dmatrix(self, frame: pd.DataFrame, y: FloatArray | None = None) -> xgb.DMatrix:
        return xgb.DMatrix(frame, label=y, enable_categorical=True, nthread=self.nthread)

    def _fit_bag(
        self, frame: pd.DataFrame, t: FloatArray, everything: xgb.DMatrix, params: dict[str, Any], seed: int
    ) -> tuple[FloatArray, list[int], xgb.Booster]:
        """Inner-fold out-of-fold PDs and best rounds, and the booster on all rows, for one seed."""
        params = {**params, "seed": seed}
        oof = np.zeros(len(frame), dtype=np.float64)
        rounds: list[int] = []
        folds = StratifiedKFold(self.calibration_folds, shuffle=True, random_state=seed)
        for train_idx, hold_idx in folds.split(frame, t):
            dtrain = self._dmatrix(frame.iloc[train_idx], t[train_idx])
            dhold = self._dmatrix(frame.iloc[hold_idx], t[hold_idx])
            booster = xgb.train(
                params,
                dtrain,
                num_boost_round=self.n_estimators,
                evals=[(dhold, "holdout")],
                early_stopping_rounds=self.early_stopping_rounds,
                verbose_eval=False,
            )
            n_rounds = int(booster.best_iteration) + 1
            rounds.append(n_rounds)
            oof[hold_idx] = booster.predict(dhold, iteration_range=(0, n_rounds))
        final = xgb.train(params, everything, num_boost_round=max(1, round(float(np.mean(rounds)))))
        return oof, rounds, final

    def fit(self, X: pd.DataFrame, y: Any) -> MonotonePDModel:
        """Train the booster and its calibration on ``X`` (declared features) and ``y`` (1 = default)."""
        self._check_params()
        self.features_ = validate_features(self.features)
        check_frame(X, self.features_, what="MonotonePDModel.fit")
        t = as_binary_target(y, len(X))
        self.categories_ = learn_categories(X, self.features_)
        frame = model_frame(X, self.features_, self.categories_)
        params = self.xgb_params()

        margins = np.zeros(len(frame), dtype=np.float64)
        boosters: list[xgb.Booster] = []
        best_rounds: list[int] = []
        everything = self._dmatrix(frame, t)
        for bag in range(self.n_bags):
            oof, bag_rounds, booster = self._fit_bag(frame, t, everything, params, self.random_state + bag)
            margins += logit(oof) / self.n_bags
            best_rounds += bag_rounds
            boosters.append(booster)

        self.n_rounds_ = max(1, round(float(np.mean(best_rounds))))
        self.booster_ = boosters[0] if len(boosters) == 1 else merge_boosters(boosters, nthread=self.nthread)
        if self.n_bags > 1:  # out-of-fold probabilities from each row's mean margin over the bags
            oof = 1.0 / (1.0 + np.exp(-margins))
        self.calibrator_ = ScoreCalibrator(method=self.calibration).fit(oof, t)  # type: ignore[arg-type]
        self.feature_names_in_ = [f.name for f in self.features_]
        self.base_rate_ = float(t.mean())
        # Inner out-of-fold raw scores and their ranking quality, for tuning or stacking inside the
        # training data.
        self.oof_raw_ = oof
        self.oof_auc_ = roc_auc(t, oof)
        logger.info(
            "MonotonePDModel: %d rows, %d features, %d rounds (inner folds %s), calibration %s",
            len(frame),
            len(self.features_),
            self.n_rounds_,
            best_rounds,
            self.calibrator_.method_,
        )
        return self

    # -- scoring -----------------------------------------------------------
    def _frame(self, X: pd.DataFrame, what: str) -> pd.DataFrame:
        check_is_fitted(self, "booster_")
        check_frame(X, self.features_, what=what)
        return model_frame(X, self.features_, self.categories_)

    def raw_score(self, X: pd.DataFrame) -> FloatArray:
        """The booster's uncalibrated probability of default."""
        frame = self._frame(X, "MonotonePDModel.raw_score")
        return np.asarray(self.booster_.predict(self._dmatrix(frame)), dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """``(n, 2)``: calibrated P(repay), P(default)."""
        raw = self.raw_score(X)
        pd_ = np.clip(self.calibrator_.transform(raw), 0.0, 1.0)
        return np.column_stack([1.0 - pd_, pd_])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """TreeSHAP contributions of each feature to the log-odds of default (bias column dropped)."""
        frame = self._frame(X, "MonotonePDModel.contributions")
        contribs = self.booster_.predict(self._dmatrix(frame), pred_contribs=True)
        return pd.DataFrame(contribs[:, :-1], columns=self.feature_names_in_, index=X.index)
