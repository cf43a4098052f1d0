"""The fraud serving bundle: everything needed to score, explain and decide, in one directory.

A bundle is three files a fresh process loads without any training code state:

* ``bundle.json``: format version, the ordered feature list, the calibration map
  (plain arrays), the policy thresholds and costs, the reason-code map, free
  metadata (parameters, validation metrics, feature-set version) and the
  SHA-256 of the two model files;
* ``booster.json``: the XGBoost model (for TreeSHAP reason codes and batch scoring);
* ``model.onnx``: the same trees for fast single-row scoring with onnxruntime.

:func:`save_bundle` writes it (to a temporary directory renamed into place, so a
failed save leaves nothing half-written) and :func:`load_bundle` reads it back as
a :class:`FraudBundle`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xgboost as xgb

from cartwise.errors import FeatureError, ModelBundleError
from cartwise.models.calibration import ScoreCalibrator
from cartwise.models.fraud.onnx_scorer import OnnxScorer, booster_to_onnx
from cartwise.models.fraud.reasons import Reason, ReasonCodes
from cartwise.models.fraud.trainer import check_features

if TYPE_CHECKING:
    from cartwise.decisions.fraud_policy import FraudPolicy
    from cartwise.models.fraud.trainer import FraudModel

__all__ = ["BUNDLE_FORMAT", "FraudBundle", "load_bundle", "save_bundle"]

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
_MANIFEST, _BOOSTER, _ONNX = "bundle.json", "booster.json", "model.onnx"

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FraudBundle:
    """A loaded fraud model: fast scorer, calibration, policy, reasons."""

    feature_names: list[str]
    booster: xgb.Booster
    scorer: OnnxScorer
    calibrator: ScoreCalibrator | None
    reason_codes: ReasonCodes
    policy_state: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- scoring ---------------------------------------------------------------
    def calibrate(self, raw: Any) -> FloatArray:
        raw_arr = np.asarray(raw, dtype=np.float64)
        return raw_arr if self.calibrator is None else self.calibrator.transform(raw_arr)

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Calibrated ``(n, 2)`` probabilities via the ONNX scorer; column 1 is P(fraud)."""
        p = self.calibrate(self.scorer.score(check_features(X, self.feature_names, "fraud bundle")))
        return np.column_stack([1.0 - p, p])

    def row_array(self, features: Mapping[str, float | None]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """One request's features as the float32 ``(1, n)`` array the scorer takes (None -> NaN)."""
        try:
            values = [features[f] for f in self.feature_names]
        except KeyError:
            missing = [f for f in self.feature_names if f not in features]
            raise FeatureError(f"the fraud model needs features {missing} that the request lacks") from None
        return np.array([values], dtype=np.float32)  # None becomes NaN

    def score_one(self, features: Mapping[str, float | None]) -> float:
        """Calibrated P(fraud) of one checkout given as a feature-name -> value mapping."""
        return self.score_row(self.row_array(features))

    def score_row(self, row: np.ndarray[Any, np.dtype[np.float32]]) -> float:
        """Calibrated P(fraud) of one checkout already laid out by :meth:`row_array`: the model alone."""
        raw = self.scorer.score_one(row)
        return raw if self.calibrator is None else self.calibrator.transform_one(raw)

    # -- explaining and deciding ---------------------------------------------------
    def explain(self, X: pd.DataFrame, *, top_n: int = 3) -> list[list[Reason]]:
        """Top reason codes per row from the booster's TreeSHAP contributions."""
        values = check_features(X, self.feature_names, "fraud bundle")
        contribs = self.booster.predict(
            xgb.DMatrix(values, feature_names=self.feature_names), pred_contribs=True
        )
        frame = pd.DataFrame(contribs[:, : len(self.feature_names)], columns=self.feature_names)
        return self.reason_codes.explain(frame, top_n=top_n)

    @property
    def policy(self) -> FraudPolicy:
        from cartwise.decisions.fraud_policy import FraudPolicy

        if self.policy_state is None:
            raise ModelBundleError("this fraud bundle holds no decision policy: save it with policy=...")
        return FraudPolicy.from_dict(self.policy_state)


def save_bundle(
    model: FraudModel,
    directory: str | Path,
    *,
    policy: FraudPolicy | None = None,
    reason_codes: ReasonCodes | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a fitted :class:`FraudModel` (and its policy and reason map) as a bundle directory."""
    from cartwise.models.base import check_is_fitted

    check_is_fitted(model, "booster_")
    target = Path(directory)
    names = list(model.feature_names_)
    booster_bytes = bytes(model.booster_.save_raw("json"))
    onnx_bytes = booster_to_onnx(model.booster_, len(names))
    codes = reason_codes if reason_codes is not None else ReasonCodes.from_rules(names)
    manifest = {
        "format": BUNDLE_FORMAT,
        "kind": "cartwise.fraud",
        "feature_names": names,
        "calibration": None if model.calibrator_ is None else model.calibrator_.to_dict(),
        "policy": None if policy is None else policy.to_dict(),
        "reason_codes": codes.to_dict(),
        "params": model.get_params(),
        "metadata": dict(metadata or {}),
        "sha256": {_BOOSTER: _sha256(booster_bytes), _ONNX: _sha256(onnx_bytes)},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        (staging / _BOOSTER).write_bytes(booster_bytes)
        (staging / _ONNX).write_bytes(onnx_bytes)
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1, default=_json_default))
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("fraud bundle written to %s (%d features)", target, len(names))
    return target


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def load_bundle(directory: str | Path) -> FraudBundle:
    """Load a bundle written by :func:`save_bundle`; errors name the missing or broken file."""
    source = Path(directory)
    missing = [n for n in (_MANIFEST, _BOOSTER, _ONNX) if not (source / n).is_file()]
    if missing:
        raise ModelBundleError(
            f"{source} is not a complete fraud bundle: {missing} missing; write one with FraudModel.to_bundle()"
        )
    try:
        manifest = json.loads((source / _MANIFEST).read_text())
    except json.JSONDecodeError as exc:
        raise ModelBundleError(
            f"{source / _MANIFEST} is not valid JSON ({exc}); re-export the bundle"
        ) from exc
    if manifest.get("kind") != "cartwise.fraud" or manifest.get("format") != BUNDLE_FORMAT:
        raise ModelBundleError(
            f"{source / _MANIFEST} is format {manifest.get('format')!r} of kind {manifest.get('kind')!r}; "
            f"this cartwise reads cartwise.fraud format {BUNDLE_FORMAT}"
        )
    booster_bytes = (source / _BOOSTER).read_bytes()
    onnx_bytes = (source / _ONNX).read_bytes()
    for name, data in ((_BOOSTER, booster_bytes), (_ONNX, onnx_bytes)):
        if _sha256(data) != manifest.get("sha256", {}).get(name):
            raise ModelBundleError(
                f"{source / name} does not match the checksum in bundle.json; re-export the bundle"
            )
    names = [str(n) for n in manifest["feature_names"]]
    booster = xgb.Booster(model_file=bytearray(booster_bytes))
    booster.set_param({"nthread": 1})
    calibration = manifest.get("calibration")
    return FraudBundle(
        feature_names=names,
        booster=booster,
        scorer=OnnxScorer(onnx_bytes, len(names)),
        calibrator=None if calibration is None else ScoreCalibrator.from_dict(calibration),
        reason_codes=ReasonCodes.from_dict(manifest["reason_codes"]),
        policy_state=manifest.get("policy"),
        metadata={**manifest.get("metadata", {}), "params": manifest.get("params", {})},
    )
