"""WoE / logistic scorecard (optbinning) with points-to-double-odds scaling, calibrated.

:class:`ScorecardModel` is the transparent challenger to the boosted PD model. Fitting uses
optbinning: a ``BinningProcess`` (optimal binning; declared directions become monotonic
event-rate trends: +1 ascending, -1 descending) feeding a logistic regression, scaled so
that ``base_points`` corresponds to good:bad odds of ``base_odds`` and every ``pdo`` points
double the odds. A higher score means lower risk.

After fitting, the model keeps only plain tables (:attr:`ScorecardModel.points_table_`:
per characteristic, the bins and the points of each attribute) and scores from them with
numpy, so a saved bundle needs no optbinning objects. Because the scaling is linear in the
logistic regression's log-odds, the raw probability of default is recovered exactly from the
score: ``logit(PD) = (offset - score) / factor`` with ``factor = pdo / ln 2`` and
``offset = base_points - factor * ln(base_odds)``.

Calibration is fitted on out-of-fold scores from ``calibration_folds`` inner scorecards, as
for the boosted model.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from cartwise.errors import FeatureError
from cartwise.models.base import check_is_fitted
from cartwise.models.calibration import ScoreCalibrator
from cartwise.models.credit.features import CreditFeature, validate_features
from cartwise.models.credit.frame import check_frame, learn_categories, model_frame
from cartwise.models.credit.monotone import as_binary_target
from cartwise.models.metrics import roc_auc

__all__ = ["ScorecardModel", "apply_points"]

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


@contextmanager
def _quiet_optbinning() -> Iterator[None]:
    # optbinning 1.0 trips pandas 3 deprecation warnings inside its binning tables; they are not ours to fix.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(incompatible dtype|inplace keyword).*")
        yield


def _bin_index(values: pd.Series, spec: dict[str, Any]) -> IntArray:
    """Row of each value in the characteristic's points list (the last row is Missing)."""
    n_rows = len(spec["points"])
    missing_row = n_rows - 1
    if spec["dtype"] == "numerical":
        x = np.asarray(pd.to_numeric(values, errors="coerce"), dtype=np.float64)
        idx = np.digitize(x, np.asarray(spec["splits"], dtype=np.float64), right=False)
        idx[np.isnan(x)] = missing_row
        return idx.astype(np.int64)
    lookup = {str(cat): i for i, cats in enumerate(spec["bins"]) for cat in cats}
    as_str = values.astype(object)
    out = [
        missing_row
        if (v is None or (isinstance(v, float) and math.isnan(v)))
        else lookup.get(str(v), missing_row)
        for v in as_str
    ]
    return np.asarray(out, dtype=np.int64)


def apply_points(frame: pd.DataFrame, characteristics: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Points of each applicant on each characteristic (columns = characteristic names)."""
    cols = {}
    for spec in characteristics:
        idx = _bin_index(frame[spec["name"]], spec)
        cols[spec["name"]] = np.asarray(spec["points"], dtype=np.float64)[idx]
    return pd.DataFrame(cols, index=frame.index)


class ScorecardModel:
    """optbinning WoE scorecard on the fit / predict_proba contract.

    Parameters
    ----------
    features: the declared inputs; directions become monotonic bin trends.
    base_points, base_odds, pdo: scaling — ``base_points`` at good:bad odds ``base_odds``,
        ``pdo`` points to double the odds (600 at 50:1, 20 PDO by default).
    max_n_bins: most bins per characteristic.
    min_bin_size: smallest bin as a fraction of rows.
    C: inverse L2 strength of the logistic regression.
    calibration, calibration_folds, random_state: as for :class:`MonotonePDModel`.
    """

    def __init__(
        self,
        features: Sequence[CreditFeature],
        *,
        base_points: float = 600.0,
        base_odds: float = 50.0,
        pdo: float = 20.0,
        max_n_bins: int = 8,
        min_bin_size: float = 0.03,
        C: float = 1.0,
        calibration: str = "auto",
        calibration_folds: int = 3,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.base_points = base_points
        self.base_odds = base_odds
        self.pdo = pdo
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.C = C
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    def _check_params(self) -> None:
        checks = {
            "base_odds": (1e-9, 1e9),
            "pdo": (1e-9, 1e9),
            "max_n_bins": (2, 100),
            "min_bin_size": (1e-4, 0.5),
            "C": (1e-9, 1e9),
            "calibration_folds": (2, 20),
        }
        for name, (lo, hi) in checks.items():
            value = getattr(self, name)
            if not isinstance(value, int | float) or not lo <= value <= hi:
                raise FeatureError(f"ScorecardModel parameter {name}={value!r} must lie in [{lo}, {hi}]")

    # -- optbinning fit ----------------------------------------------------
    def _optbinning_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for f in self.features_:
            col = frame[f.name]
            out[f.name] = col.astype(object).where(col.notna(), np.nan) if f.categorical else col
        return pd.DataFrame(out, index=frame.index)

    def _fit_scorecard(self, frame: pd.DataFrame, t: FloatArray) -> list[dict[str, Any]]:
        """Bin, fit the logistic regression on WoE and scale it to points; returns the characteristic tables.

        This is optbinning's ``Scorecard`` with ``pdo_odds`` scaling, written out so that the
        binning is fitted once: each attribute earns
        ``-(woe x coef + intercept / n) x factor + offset / n`` points, so the points of an
        applicant add up to ``offset - factor x logit(PD)``. Special and missing values use their
        empirical WoE in both the regression and the points.

        WoE grows as risk falls, so every coefficient must be negative; a positive one (collinear
        characteristics) would reverse that characteristic's trend and break its declared
        direction, so the worst such characteristic is dropped and the regression refitted.
        """
        # A characteristic with no spread in these rows (all missing or one value) cannot be binned.
        names = [f.name for f in self.features_ if frame[f.name].nunique(dropna=True) > 1]
        if not names:
            raise FeatureError(
                "no characteristic varies in the training rows; the scorecard has nothing to bin"
            )
        ob_frame = self._optbinning_frame(frame)[names]
        binning = self._binning_process(names)
        with _quiet_optbinning():
            woe = binning.fit_transform(
                ob_frame, t.astype(int), metric="woe", metric_special="empirical", metric_missing="empirical"
            )
        kept = list(binning.get_support(names=True))
        # One BLAS thread: these regressions are small (rows x characteristics), and on a busy
        # machine a multi-threaded BLAS spins — the refits below ran about four times slower with it.
        with threadpool_limits(limits=1, user_api="blas"):
            while True:
                lr = LogisticRegression(C=self.C, max_iter=1000).fit(woe[kept].to_numpy(), t.astype(int))
                wrong = [(c, n) for c, n in zip(lr.coef_.ravel(), kept, strict=True) if c > 0]
                if not wrong or len(kept) == 1:
                    break
                worst = max(wrong)[1]
                logger.info("scorecard: dropping %s (coefficient on WoE has the wrong sign)", worst)
                kept = [n for n in kept if n != worst]
        coef = dict(zip(kept, lr.coef_.ravel(), strict=True))
        intercept = float(lr.intercept_[0])
        n = len(kept)
        by_name = {f.name: f for f in self.features_}
        tables = []
        for name in kept:
            optb = binning.get_binned_variable(name)
            with _quiet_optbinning():
                bt = optb.binning_table.build(show_digits=4)
            bt = bt.drop(index="Totals", errors="ignore")
            woe_values = np.asarray(pd.to_numeric(bt["WoE"], errors="coerce"), dtype=np.float64)
            woe_values = np.nan_to_num(woe_values, nan=0.0, posinf=0.0, neginf=0.0)
            points = -(woe_values * coef[name] + intercept / n) * self.factor_ + self.offset_ / n
            spec: dict[str, Any] = {
                "name": name,
                "dtype": "categorical" if by_name[name].categorical else "numerical",
                "labels": [str(b) for b in bt["Bin"]],
                "counts": [int(c) for c in bt["Count"]],
                "woe": woe_values.tolist(),
                "coefficient": float(coef[name]),
                "points": points.tolist(),
            }
            if by_name[name].categorical:
                spec["bins"] = [[str(c) for c in cats] for cats in optb.splits]
            else:
                spec["splits"] = [float(x) for x in optb.splits]
            populated = [p for p, c in zip(spec["points"], spec["counts"], strict=True) if c > 0]
            spec["max_points"] = max(populated) if populated else max(spec["points"])
            tables.append(spec)
        return tables

    def _binning_process(self, names: list[str]) -> Any:
        from optbinning import BinningProcess

        trend = {1: "ascending", -1: "descending"}
        chosen = [f for f in self.features_ if f.name in names]
        fit_params = {f.name: {"monotonic_trend": trend[f.direction]} for f in chosen if f.direction != 0}
        return BinningProcess(
            variable_names=names,
            categorical_variables=[f.name for f in chosen if f.categorical],
            max_n_bins=self.max_n_bins,
            min_bin_size=self.min_bin_size,
            binning_fit_params=fit_params,
            n_jobs=1,
        )

    def fit(self, X: pd.DataFrame, y: Any) -> ScorecardModel:
        """Bin, fit the logistic regression, scale to points and calibrate on out-of-fold scores."""
        self._check_params()
        self.features_ = validate_features(self.features)
        check_frame(X, self.features_, what="ScorecardModel.fit")
        t = as_binary_target(y, len(X))
        self.categories_ = learn_categories(X, self.features_)
        frame = model_frame(X, self.features_, self.categories_)
        self.factor_ = self.pdo / math.log(2.0)
        self.offset_ = self.base_points - self.factor_ * math.log(self.base_odds)

        oof = np.zeros(len(frame), dtype=np.float64)
        folds = StratifiedKFold(self.calibration_folds, shuffle=True, random_state=self.random_state)
        for train_idx, hold_idx in folds.split(frame, t):
            inner = self._fit_scorecard(frame.iloc[train_idx], t[train_idx])
            oof[hold_idx] = self._raw_pd(apply_points(frame.iloc[hold_idx], inner).sum(axis=1).to_numpy())

        self.characteristics_ = self._fit_scorecard(frame, t)
        self.intercept_points_ = 0.0  # pdo_odds scaling spreads the intercept over the characteristics
        self.calibrator_ = ScoreCalibrator(method=self.calibration).fit(oof, t)  # type: ignore[arg-type]
        self.feature_names_in_ = [f.name for f in self.features_]
        self.base_rate_ = float(t.mean())
        self.oof_raw_ = oof  # inner out-of-fold raw PDs (for tuning or stacking inside the training data)
        self.oof_auc_ = roc_auc(t, oof)
        logger.info(
            "ScorecardModel: %d rows, %d of %d characteristics kept, calibration %s",
            len(frame),
            len(self.characteristics_),
            len(self.features_),
            self.calibrator_.method_,
        )
        return self

    # -- scoring -----------------------------------------------------------
    def _raw_pd(self, score: FloatArray) -> FloatArray:
        z = (self.offset_ - np.asarray(score, dtype=np.float64)) / self.factor_
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    @property
    def points_table_(self) -> pd.DataFrame:
        """One row per characteristic and attribute (bin): its label, training count and points."""
        check_is_fitted(self, "characteristics_")
        rows = [
            {"characteristic": c["name"], "bin": i, "attribute": label, "count": count, "points": points}
            for c in self.characteristics_
            for i, (label, count, points) in enumerate(
                zip(c["labels"], c["counts"], c["points"], strict=True)
            )
        ]
        return pd.DataFrame(rows)

    def points(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points each applicant earns on each characteristic."""
        check_is_fitted(self, "characteristics_")
        check_frame(X, self.features_, what="ScorecardModel.points")
        frame = model_frame(X, self.features_, self.categories_)
        return apply_points(frame, self.characteristics_)

    def score(self, X: pd.DataFrame) -> FloatArray:
        """Scorecard score (higher = lower risk)."""
        return np.asarray(self.points(X).sum(axis=1).to_numpy() + self.intercept_points_, dtype=np.float64)

    def raw_score(self, X: pd.DataFrame) -> FloatArray:
        """The logistic regression's uncalibrated probability of default."""
        return self._raw_pd(self.score(X))

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """``(n, 2)``: calibrated P(repay), P(default)."""
        raw = self.raw_score(X)
        pd_ = np.clip(self.calibrator_.transform(raw), 0.0, 1.0)
        return np.column_stack([1.0 - pd_, pd_])

    def points_lost(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points below the best attribute of each characteristic (>= 0): the scorecard's reason weights."""
        pts = self.points(X)
        best = pd.Series({c["name"]: c["max_points"] for c in self.characteristics_})
        return (best - pts).clip(lower=0.0)
