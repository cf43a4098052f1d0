"""The fraud model: calibrated XGBoost on point-in-time features.

:class:`FraudModel` follows the ``fit`` / ``predict_proba`` contract of
:mod:`cartwise.models.base`:

* XGBoost ``hist`` trees, at most 2 threads, every source of randomness seeded,
  so the same seed and data give the same booster byte for byte.
* Class imbalance: positives are up-weighted (``scale_pos_weight``; ``"balanced"``
  means negatives / positives), which helps the trees find rare fraud but
  inflates the scores.
* Calibration restores probabilities: the training rows are cut into
  ``calibration_folds`` contiguous blocks (rows are expected in time order), a
  booster trained without each block scores it, and a
  :class:`~cartwise.models.calibration.ScoreCalibrator` is fitted on these
  out-of-fold scores (scikit-learn's ``CalibratedClassifierCV(ensemble=False)``
  scheme). The final booster is trained on all rows. An explicit held-out
  ``calibration_set`` can be given instead.

:meth:`FraudModel.decision_score` returns the booster's uncalibrated score (the
form the ONNX scorer reproduces); :meth:`predict_proba` applies calibration.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from cartwise.errors import FeatureError, MetricInputError
from cartwise.models.base import check_is_fitted
from cartwise.models.calibration import CalibrationMethod, ScoreCalibrator

__all__ = ["FraudModel", "check_features"]

logger = logging.getLogger(__name__)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def check_features(
    X: pd.DataFrame, feature_names: list[str], model: str = "fraud model"
) -> np.ndarray[Any, Any]:
    """``X``'s columns in the trained order as float32, or a FeatureError naming what is wrong."""
    if not isinstance(X, pd.DataFrame):
        raise FeatureError(
            f"the {model} takes a pandas DataFrame with named feature columns, got {type(X).__name__}"
        )
    missing = [c for c in feature_names if c not in X.columns]
    if missing:
        raise FeatureError(
            f"the {model} needs feature columns {missing} that the frame lacks; "
            f"it was trained on {feature_names}"
        )
    try:
        values = X[feature_names].to_numpy(dtype=np.float32, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        bad = [c for c in feature_names if not pd.api.types.is_numeric_dtype(X[c].dtype)]
        raise FeatureError(
            f"feature columns {bad} are not numeric: encode them before scoring ({exc})"
        ) from exc
    return values


class FraudModel:
    """Calibrated XGBoost fraud classifier (see the module docstring).

    Parameters
    ----------
    n_estimators, max_depth, learning_rate, subsample, colsample_bytree, min_child_weight,
    reg_lambda, max_bin: XGBoost tree parameters (``max_bin``: histogram bins per feature; more bins
    place splits on rare, extreme values such as large amounts more precisely).
    scale_pos_weight: ``"balanced"`` (negatives / positives), a number, or ``None`` (1).
    calibration: ``"auto"``, ``"isotonic"`` or ``"platt"`` (see ScoreCalibrator), or ``None``.
    calibration_folds: contiguous folds for out-of-fold calibration scores.
    random_state: seed for subsampling.
    n_jobs: XGBoost threads (1 or 2 on this platform).
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        max_depth: int = 6,
        learning_rate: float = 0.05,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 1.0,
        reg_lambda: float = 1.0,
        max_bin: int = 256,
        scale_pos_weight: float | str | None = "balanced",
        calibration: CalibrationMethod | None = "auto",
        calibration_folds: int = 3,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.scale_pos_weight = scale_pos_weight
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- parameters --------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "n_estimators",
                "max_depth",
                "learning_rate",
                "subsample",
                "colsample_bytree",
                "min_child_weight",
                "reg_lambda",
                "max_bin",
                "scale_pos_weight",
                "calibration",
                "calibration_folds",
                "random_state",
                "n_jobs",
            )
        }

    def _check_params(self) -> None:
        checks = {
            "n_estimators": self.n_estimators >= 1,
            "max_depth": self.max_depth >= 1,
            "max_bin": self.max_bin >= 2,
            "learning_rate": 0 < self.learning_rate <= 1,
            "subsample": 0 < self.subsample <= 1,
            "colsample_bytree": 0 < self.colsample_bytree <= 1,
            "n_jobs": 1 <= self.n_jobs <= 2,
            "calibration_folds": self.calibration_folds >= 2,
            "calibration": self.calibration in (None, "auto", "isotonic", "platt"),
            "scale_pos_weight": self.scale_pos_weight is None
            or self.scale_pos_weight == "balanced"
            or (isinstance(self.scale_pos_weight, int | float) and self.scale_pos_weight > 0),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise MetricInputError(
                f"FraudModel parameters out of range: {', '.join(f'{b}={getattr(self, b)!r}' for b in bad)} "
                "(n_jobs must be 1 or 2; learning_rate, subsample, colsample_bytree in (0, 1]; "
                "scale_pos_weight 'balanced', a positive number or None)"
            )

    def _xgb_params(self, y: FloatArray) -> dict[str, Any]:
        if self.scale_pos_weight == "balanced":
            n_pos = float(y.sum())
            spw = (y.size - n_pos) / n_pos
        elif self.scale_pos_weight is None:
            spw = 1.0
        else:
            spw = float(self.scale_pos_weight)
        return {
            "objective": "binary:logistic",
            "eval_metric": "aucpr",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda,
            "max_bin": self.max_bin,
            "scale_pos_weight": spw,
            "seed": self.random_state,
            "nthread": self.n_jobs,
        }

    def _train(self, values: np.ndarray[Any, Any], y: FloatArray, names: list[str]) -> xgb.Booster:
        dtrain = xgb.DMatrix(values, label=y, feature_names=names, nthread=self.n_jobs)
        return xgb.train(self._xgb_params(y), dtrain, num_boost_round=self.n_estimators)

    # -- fitting -----------------------------------------------------------
    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        *,
        calibration_set: tuple[pd.DataFrame, Any] | None = None,
    ) -> FraudModel:
        """Train on ``X`` (rows in time order) and labels ``y`` (1 = fraud)."""
        self._check_params()
        if not isinstance(X, pd.DataFrame):
            raise FeatureError(f"FraudModel.fit takes a pandas DataFrame, got {type(X).__name__}")
        names = [str(c) for c in X.columns]
        values = check_features(X, names)
        labels = np.asarray(y, dtype=np.float64).ravel()
        if labels.size != len(X):
            raise MetricInputError(f"X has {len(X)} rows but y has {labels.size} labels")
        if not np.isin(labels, (0.0, 1.0)).all() or labels.min() == labels.max():
            raise MetricInputError("y must hold 0/1 labels with at least one fraud and one genuine row")

        self.feature_names_ = names
        self.calibrator_: ScoreCalibrator | None = None
        if self.calibration is not None:
            if calibration_set is not None:
                booster = self._train(values, labels, names)
                cal_X, cal_y = calibration_set
                scores = self._raw(booster, check_features(cal_X, names))
                cal_labels = np.asarray(cal_y, dtype=np.float64).ravel()
            else:
                scores, cal_labels = self._out_of_fold(values, labels, names), labels
            self.calibrator_ = ScoreCalibrator(self.calibration).fit(scores, cal_labels)
        self.booster_ = self._train(values, labels, names)
        logger.info(
            "fraud model: %d rows, %d features, %d trees, calibration=%s",
            len(X),
            len(names),
            self.n_estimators,
            None if self.calibrator_ is None else self.calibrator_.method_,
        )
        return self

    def _out_of_fold(self, values: np.ndarray[Any, Any], y: FloatArray, names: list[str]) -> FloatArray:
        oof = np.empty(y.size, dtype=np.float64)
        for block in np.array_split(np.arange(y.size), self.calibration_folds):
            held = np.zeros(y.size, dtype=bool)
            held[block] = True
            if y[~held].min() == y[~held].max():
                raise MetricInputError(
                    "a calibration fold leaves no fraud to train on: give more rows or fewer calibration_folds"
                )
            oof[held] = self._raw(self._train(values[~held], y[~held], names), values[held])
        return oof

    def _raw(self, booster: xgb.Booster, values: np.ndarray[Any, Any]) -> FloatArray:
        return np.asarray(booster.inplace_predict(values), dtype=np.float64)

    # -- scoring -----------------------------------------------------------
    def decision_score(self, X: pd.DataFrame) -> FloatArray:
        """The booster's uncalibrated score in [0, 1] (class-weighted, so not a probability)."""
        check_is_fitted(self, "booster_")
        return self._raw(self.booster_, check_features(X, self.feature_names_))

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Calibrated probabilities, shape (n, 2): column 1 is P(fraud)."""
        raw = self.decision_score(X)
        p = raw if self.calibrator_ is None else self.calibrator_.transform(raw)
        return np.column_stack([1.0 - p, p])

    def feature_contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """TreeSHAP contributions in log-odds per feature, plus the ``bias`` column."""
        check_is_fitted(self, "booster_")
        dm = xgb.DMatrix(check_features(X, self.feature_names_), feature_names=self.feature_names_)
        contribs = self.booster_.predict(dm, pred_contribs=True)
        return pd.DataFrame(contribs, columns=[*self.feature_names_, "bias"], index=X.index)

    # -- persisting ----------------------------------------------------------
    def to_bundle(
        self,
        directory: Any,
        *,
        policy: Any = None,
        reason_codes: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> Any:
        """Write the serving bundle (see :mod:`cartwise.models.fraud.bundle`); returns its path."""
        from cartwise.models.fraud.bundle import save_bundle

        return save_bundle(self, directory, policy=policy, reason_codes=reason_codes, metadata=metadata)
