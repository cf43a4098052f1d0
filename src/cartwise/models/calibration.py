"""Probability calibration: isotonic regression or Platt scaling, chosen on held-out scores.

A model trained with class weights (or simply a boosted model) ranks well but its
scores are not probabilities. :class:`ScoreCalibrator` learns a monotone map from
raw scores in [0, 1] to probabilities:

* ``"platt"``: ``p = sigmoid(a * logit(score) + b)`` fitted by logistic regression
  (scikit-learn, no penalty), strictly increasing, so it keeps every ranking.
* ``"isotonic"``: scikit-learn's isotonic regression, applied as linear
  interpolation between its thresholds and clipped at the ends. Its flat steps
  would tie orders the model ranks apart (which costs ranking metrics such as
  average precision and card precision), so the map is made strictly increasing:
  ``p = (1 - eps) * iso(score) + eps * score`` with ``eps = 1e-6``; probabilities
  move by at most ``eps``, and the calibrated score ranks exactly like the raw one.
* ``"auto"``: both are fitted on one half of the given scores and evaluated on
  the other half, and vice versa (two-fold cross-fitting, halves interleaved so
  each sees the whole time range); the method with the lower mean ``criterion``
  (Brier score or log-loss) wins and is refitted on all the scores.

Fitted state is plain floats and arrays (:meth:`ScoreCalibrator.to_dict`), so a
serving bundle applies it with numpy alone and needs no training objects.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from cartwise.errors import MetricInputError, ModelBundleError, NotFittedError
from cartwise.models.metrics import brier, log_loss

__all__ = ["CalibrationMethod", "ScoreCalibrator", "logit"]

logger = logging.getLogger(__name__)

CalibrationMethod = Literal["auto", "isotonic", "platt"]
_METHODS = ("auto", "isotonic", "platt")
_CRITERIA = ("brier", "log_loss")
_EPS = 1e-7
TIE_BREAK = 1e-6
"""Weight of the raw score blended into the isotonic map so that it is strictly increasing."""

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def logit(p: Any) -> FloatArray:
    """Log-odds of probabilities clipped to [1e-7, 1 - 1e-7]."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.asarray(np.log(q) - np.log1p(-q), dtype=np.float64)


def _fit_platt(s: FloatArray, y: FloatArray) -> tuple[float, float]:
    lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
    lr.fit(logit(s).reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _apply_platt(s: FloatArray, a: float, b: float) -> FloatArray:
    z = a * logit(s) + b
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def _fit_isotonic(s: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(s, y)
    return np.asarray(iso.X_thresholds_, dtype=np.float64), np.asarray(iso.y_thresholds_, dtype=np.float64)


def _apply_isotonic(
    s: FloatArray, xs: FloatArray, ys: FloatArray, tie_break: float = TIE_BREAK
) -> FloatArray:
    # IsotonicRegression(out_of_bounds="clip").predict without the object, plus the tie-break
    iso = np.interp(s, xs, ys)
    return np.asarray((1.0 - tie_break) * iso + tie_break * np.clip(s, 0.0, 1.0), dtype=np.float64)


class ScoreCalibrator:
    """Maps raw model scores in [0, 1] to calibrated probabilities (see the module docstring).

    Parameters
    ----------
    method: ``"auto"`` (choose on held-out halves), ``"isotonic"`` or ``"platt"``.
    criterion: ``"brier"`` or ``"log_loss"``, used by ``"auto"``.
    """

    def __init__(self, method: CalibrationMethod = "auto", criterion: str = "brier") -> None:
        self.method = method
        self.criterion = criterion

    # -- fitting ---------------------------------------------------------
    def fit(self, scores: Any, y: Any) -> ScoreCalibrator:
        if self.method not in _METHODS:
            raise MetricInputError(f"calibration method {self.method!r} is unknown: use one of {_METHODS}")
        if self.criterion not in _CRITERIA:
            raise MetricInputError(
                f"calibration criterion {self.criterion!r} is unknown: use one of {_CRITERIA}"
            )
        s = np.asarray(scores, dtype=np.float64).ravel()
        t = np.asarray(y, dtype=np.float64).ravel()
        if s.shape != t.shape:
            raise MetricInputError(f"scores and labels differ in length ({s.size} vs {t.size})")
        if not np.isin(t, (0.0, 1.0)).all():
            raise MetricInputError("calibration labels must be 0 or 1")
        if t.size < 4 or t.min() == t.max():
            raise MetricInputError(
                "calibration needs at least 4 rows holding both classes: give it a larger held-out sample"
            )
        if not np.isfinite(s).all() or (s < 0).any() or (s > 1).any():
            raise MetricInputError("calibration scores must be finite and lie in [0, 1]")

        self.holdout_scores_: dict[str, float] = {}
        self.tie_break_ = TIE_BREAK
        method: str = self.method
        if method == "auto":
            method = self._choose(s, t)
        self.method_ = method
        if method == "platt":
            self.platt_ = _fit_platt(s, t)
            self.isotonic_x_: FloatArray | None = None
            self.isotonic_y_: FloatArray | None = None
        else:
            self.platt_ = (1.0, 0.0)
            self.isotonic_x_, self.isotonic_y_ = _fit_isotonic(s, t)
        logger.info("calibration: %s (held-out %s %s)", method, self.criterion, self.holdout_scores_)
        return self

    def _choose(self, s: FloatArray, t: FloatArray) -> str:
        score = brier if self.criterion == "brier" else log_loss
        halves = (np.arange(s.size) % 2 == 0, np.arange(s.size) % 2 == 1)
        results: dict[str, list[float]] = {"isotonic": [], "platt": []}
        for fit_half, eval_half in (halves, halves[::-1]):
            if t[fit_half].min() == t[fit_half].max() or t[eval_half].min() == t[eval_half].max():
                return "platt"  # too few positives to compare; Platt is the safer, smoother map
            a, b = _fit_platt(s[fit_half], t[fit_half])
            results["platt"].append(score(t[eval_half], _apply_platt(s[eval_half], a, b)))
            xs, ys = _fit_isotonic(s[fit_half], t[fit_half])
            results["isotonic"].append(score(t[eval_half], _apply_isotonic(s[eval_half], xs, ys)))
        self.holdout_scores_ = {m: float(np.mean(v)) for m, v in results.items()}
        return min(("platt", "isotonic"), key=lambda m: self.holdout_scores_[m])

    # -- applying --------------------------------------------------------
    def transform(self, scores: Any) -> FloatArray:
        """Calibrated probabilities for raw scores in [0, 1]."""
        if getattr(self, "method_", None) is None:
            raise NotFittedError(
                "This ScoreCalibrator instance is not fitted yet. Call 'fit' with held-out scores and labels."
            )
        s = np.asarray(scores, dtype=np.float64)
        if self.method_ == "platt":
            return _apply_platt(s, *self.platt_)
        assert self.isotonic_x_ is not None
        assert self.isotonic_y_ is not None
        return _apply_isotonic(s, self.isotonic_x_, self.isotonic_y_, self.tie_break_)

    def transform_one(self, score: float) -> float:
        """One score, without array overhead (the single-checkout serving path)."""
        if self.method_ == "platt":
            a, b = self.platt_
            q = min(max(score, _EPS), 1 - _EPS)
            return 1.0 / (1.0 + math.exp(-(a * math.log(q / (1 - q)) + b)))
        assert self.isotonic_x_ is not None
        assert self.isotonic_y_ is not None
        iso = float(np.interp(score, self.isotonic_x_, self.isotonic_y_))
        return (1.0 - self.tie_break_) * iso + self.tie_break_ * min(max(score, 0.0), 1.0)

    # -- (de)serialising --------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON state: method, Platt coefficients or isotonic thresholds."""
        if getattr(self, "method_", None) is None:
            raise NotFittedError("This ScoreCalibrator instance is not fitted yet; nothing to save.")
        state: dict[str, Any] = {"method": self.method_, "criterion": self.criterion}
        if self.method_ == "platt":
            state["platt"] = list(self.platt_)
        else:
            assert self.isotonic_x_ is not None
            assert self.isotonic_y_ is not None
            state["isotonic_x"] = self.isotonic_x_.tolist()
            state["isotonic_y"] = self.isotonic_y_.tolist()
            state["tie_break"] = self.tie_break_
        state["holdout_scores"] = dict(self.holdout_scores_)
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ScoreCalibrator:
        """Rebuild a fitted calibrator from :meth:`to_dict` output."""
        try:
            method = state["method"]
            cal = cls(method=method, criterion=state.get("criterion", "brier"))
            cal.method_ = method
            cal.holdout_scores_ = dict(state.get("holdout_scores", {}))
            cal.tie_break_ = float(state.get("tie_break", 0.0))
            if method == "platt":
                a, b = state["platt"]
                cal.platt_ = (float(a), float(b))
                cal.isotonic_x_ = cal.isotonic_y_ = None
            elif method == "isotonic":
                cal.platt_ = (1.0, 0.0)
                cal.isotonic_x_ = np.asarray(state["isotonic_x"], dtype=np.float64)
                cal.isotonic_y_ = np.asarray(state["isotonic_y"], dtype=np.float64)
            else:
                raise ModelBundleError(f"calibration method {method!r} in the saved state is unknown")
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ModelBundleError):
                raise
            raise ModelBundleError(
                f"calibration state is incomplete or malformed ({exc!r}): save it again with to_dict()"
            ) from exc
        return cal
