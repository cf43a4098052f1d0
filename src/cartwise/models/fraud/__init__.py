"""Fraud model: calibrated XGBoost, out-of-time splits, reason codes, fast ONNX scoring, bundles."""

from cartwise.models.fraud.bundle import FraudBundle, load_bundle, save_bundle
from cartwise.models.fraud.reasons import Reason, ReasonCodes
from cartwise.models.fraud.split import OutOfTimeWindows, known_compromised_filter, window_masks
from cartwise.models.fraud.trainer import FraudModel

__all__ = [
    "FraudBundle",
    "FraudModel",
    "OutOfTimeWindows",
    "Reason",
    "ReasonCodes",
    "known_compromised_filter",
    "load_bundle",
    "save_bundle",
    "window_masks",
]
