"""Saving and loading a fitted credit model as plain files (JSON + XGBoost's JSON booster).

A bundle directory holds ``credit_model.json`` (kind, declared features and monotone map,
categories, calibration arrays, scorecard tables, policy parameters, reason-code map and
free-form metadata) and, for the boosted model, ``booster.json``. Loading needs neither
pickle nor the training data: a fresh process gets a model that scores identically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xgboost as xgb

from cartwise.decisions.credit_policy import CreditPolicyParams
from cartwise.errors import ModelBundleError
from cartwise.models.base import check_is_fitted
from cartwise.models.calibration import ScoreCalibrator
from cartwise.models.credit.features import feature_from_dict, monotone_map
from cartwise.models.credit.monotone import MonotonePDModel
from cartwise.models.credit.reasons import reason_code_map
from cartwise.models.credit.scorecard import ScorecardModel

__all__ = ["BUNDLE_FORMAT", "CreditBundle", "load_bundle", "to_bundle"]

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "cartwise-credit-model/1"
_MANIFEST = "credit_model.json"
_BOOSTER = "booster.json"

CreditModel = MonotonePDModel | ScorecardModel


@dataclass(frozen=True)
class CreditBundle:
    """A loaded credit model with everything the decision needs."""

    model: CreditModel
    policy: CreditPolicyParams
    reason_codes: dict[str, dict[str, str]]
    metadata: dict[str, Any] = field(default_factory=dict)


def to_bundle(
    model: CreditModel,
    directory: str | Path,
    *,
    policy: CreditPolicyParams | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a fitted model, its policy parameters and reason codes to ``directory``; returns the manifest path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(model, MonotonePDModel):
        check_is_fitted(model, "booster_")
        kind = "monotone_gbdt"
    elif isinstance(model, ScorecardModel):
        check_is_fitted(model, "characteristics_")
        kind = "scorecard"
    else:
        raise ModelBundleError(
            f"cannot bundle a {type(model).__name__}: use MonotonePDModel or ScorecardModel"
        )
    state: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "kind": kind,
        "features": [f.to_dict() for f in model.features_],
        "monotone": monotone_map(model.features_),
        "categories": model.categories_,
        "calibration": model.calibrator_.to_dict(),
        "base_rate": model.base_rate_,
        "policy": (policy or CreditPolicyParams()).to_dict(),
        "reason_codes": reason_code_map(model.features_),
        "metadata": dict(metadata or {}),
    }
    if isinstance(model, MonotonePDModel):
        state["params"] = {k: getattr(model, k) for k in ("nthread", "random_state", "calibration")}
        state["n_rounds"] = model.n_rounds_
        (directory / _BOOSTER).write_bytes(bytes(model.booster_.save_raw(raw_format="json")))
    else:
        state["params"] = {k: getattr(model, k) for k in ("base_points", "base_odds", "pdo", "calibration")}
        state["characteristics"] = model.characteristics_
        state["intercept_points"] = model.intercept_points_
        state["factor"] = model.factor_
        state["offset"] = model.offset_
    manifest = directory / _MANIFEST
    tmp = manifest.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=1, default=float))
    tmp.replace(manifest)  # the manifest appears last and whole: a half-written bundle never loads
    logger.info("credit %s bundle written to %s", kind, directory)
    return manifest


def load_bundle(directory: str | Path) -> CreditBundle:
    """Rebuild a fitted credit model and its policy from a bundle directory."""
    directory = Path(directory)
    manifest = directory / _MANIFEST
    if not manifest.exists():
        raise ModelBundleError(
            f"no credit model bundle at {directory}: {_MANIFEST} is missing; write one with to_bundle"
        )
    try:
        state = json.loads(manifest.read_text())
    except json.JSONDecodeError as exc:
        raise ModelBundleError(f"{manifest} is not valid JSON ({exc}); write the bundle again") from exc
    if state.get("format") != BUNDLE_FORMAT:
        raise ModelBundleError(
            f"{manifest} has format {state.get('format')!r}, this cartwise reads {BUNDLE_FORMAT!r}"
        )
    try:
        features = tuple(feature_from_dict(f) for f in state["features"])
        calibrator = ScoreCalibrator.from_dict(state["calibration"])
        model: CreditModel
        if state["kind"] == "monotone_gbdt":
            booster_path = directory / _BOOSTER
            if not booster_path.exists():
                raise ModelBundleError(f"{booster_path} is missing from the bundle; write the bundle again")
            gbdt = MonotonePDModel(features, **state["params"])
            booster = xgb.Booster()
            booster.load_model(bytearray(booster_path.read_bytes()))
            booster.set_param({"nthread": int(state["params"]["nthread"])})
            gbdt.booster_ = booster
            gbdt.n_rounds_ = int(state["n_rounds"])
            model = gbdt
        elif state["kind"] == "scorecard":
            card = ScorecardModel(features, **state["params"])
            card.characteristics_ = list(state["characteristics"])
            card.intercept_points_ = float(state["intercept_points"])
            card.factor_ = float(state["factor"])
            card.offset_ = float(state["offset"])
            model = card
        else:
            raise ModelBundleError(f"{manifest}: unknown model kind {state['kind']!r}")
        model.features_ = features
        model.feature_names_in_ = [f.name for f in features]
        model.categories_ = {k: list(v) for k, v in state["categories"].items()}
        model.calibrator_ = calibrator
        model.base_rate_ = float(state["base_rate"])
        policy = CreditPolicyParams.from_dict(state["policy"])
        return CreditBundle(model, policy, dict(state["reason_codes"]), dict(state.get("metadata", {})))
    except KeyError as exc:
        raise ModelBundleError(
            f"{manifest} lacks the field {exc}; write the bundle again with to_bundle"
        ) from exc
