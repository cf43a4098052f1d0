"""The fraud model on the lifecycle contract: checkouts + reported chargebacks → calibrated XGBoost bundle.

- Spine: every checkout in the window, with the point-in-time fraud features of the
  feature platform (``catalog.FRAUD_FEATURES``, computed by ``training_frame``).
- Label: a chargeback for the order reported before ``as_of`` (what was known then).
- Out-of-time split with label maturity and a gap (:class:`OutOfTimeSplit`); the
  last 20% of the training period (by time) chooses the expected-cost policy
  thresholds, stored in the bundle.
- Primary metric: average precision (fraud is rare; AUC flatters); calibration: ECE.
- Extra gates, floors that hold even for a first version with no champion to beat:
  discrimination (holdout ROC AUC ≥ ``min_roc_auc``) and precision lift (holdout
  average precision ≥ ``min_precision_lift`` × the holdout fraud rate, which is what
  a model that ranks at random scores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from cartwise.config import Settings
from cartwise.pipelines.base import Evaluation, TrainContext, TrainingData
from cartwise.pipelines.spines import (
    OutOfTimeSplit,
    read_checkouts,
    read_table_checked,
    require_both_classes,
    window_end,
)
from cartwise.registry.gates import GateResult
from cartwise.registry.schema import InputSchema

__all__ = ["FraudTrainer", "make_trainer"]

_SPINE_COLUMNS = [
    "checkout_id",
    "customer_id",
    "merchant_id",
    "created_at",
    "amount_minor",
    "n_items",
    "device_id",
    "payment_instrument_id",
    "ip_hash",
    "geo_hash",
    "shipping_address_hash",
    "plan_type",
    "n_installments",
    "installment_interval_days",
]


@dataclass
class FraudTrainer:
    """Adapter from :mod:`cartwise.models.fraud` to the lifecycle."""

    split: OutOfTimeSplit = field(default_factory=OutOfTimeSplit)
    n_estimators: int = 300
    max_depth: int = 6
    learning_rate: float = 0.05
    policy_fraction: float = 0.2
    min_roc_auc: float = 0.7
    """Below this holdout AUC the model cannot tell fraud from good orders, champion or not."""
    min_precision_lift: float = 3.0
    """Holdout average precision must be at least this multiple of the holdout fraud rate (chance)."""
    name: str = "fraud"
    kind: Literal["classifier", "recommender"] = "classifier"
    primary_metric: str = "average_precision"
    higher_is_better: bool = True
    calibration_metric: str | None = "ece"
    loader: str = "cartwise.models.fraud.bundle:load_bundle"

    def params(self) -> Mapping[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "policy_fraction": self.policy_fraction,
            "min_roc_auc": self.min_roc_auc,
            "min_precision_lift": self.min_precision_lift,
            "holdout_days": self.split.holdout_days,
            "gap_days": self.split.gap_days,
            "label_maturity_days": self.split.label_maturity_days,
        }

    def build_data(self, context: TrainContext) -> TrainingData:
        from cartwise.features.catalog import FRAUD_FEATURES
        from cartwise.features.offline import training_frame

        checkouts = read_checkouts(context.warehouse, _SPINE_COLUMNS, context.start, context.end)
        as_of = window_end(checkouts, "created_at", context.end)
        chargebacks = read_table_checked(
            context.warehouse, "chargebacks", ["checkout_id", "reported_at"]
        ).to_pandas()
        known = set(
            chargebacks.loc[pd.to_datetime(chargebacks["reported_at"], utc=True) < as_of, "checkout_id"]
        )
        frame = training_frame(
            context.warehouse, checkouts, FRAUD_FEATURES, timestamp_column="created_at"
        ).to_pandas()
        frame["is_fraud"] = frame["checkout_id"].isin(known).astype(np.int64)
        features = list(FRAUD_FEATURES.feature_names)
        frame[features] = frame[features].astype(np.float64)  # one dtype per input, whatever the nulls
        train, holdout = self.split.split(frame, "created_at", as_of)
        require_both_classes(train["is_fraud"], "the fraud training period")
        require_both_classes(holdout["is_fraud"], "the fraud holdout")
        return TrainingData(
            train=train,
            holdout=holdout,
            time_column="created_at",
            feature_version=FRAUD_FEATURES.version,
            extra={"features": features},
        )

    def fit(self, data: TrainingData, seed: int) -> Any:
        from cartwise.decisions.fraud_policy import FraudPolicy
        from cartwise.models.fraud.trainer import FraudModel
        from cartwise.pipelines.fraud_costs import MARKETPLACE_FRAUD_COSTS

        features = list(data.extra["features"])
        cut = int(len(data.train) * (1.0 - self.policy_fraction))
        fit_rows, policy_rows = data.train.iloc[:cut], data.train.iloc[cut:]
        require_both_classes(
            fit_rows["is_fraud"], "the fraud model's fitting rows (training minus policy tail)"
        )
        model = FraudModel(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            random_state=seed,
            n_jobs=1,  # one thread fits far faster than two on a busy 2-core machine (docs/fraud.md)
        ).fit(fit_rows[features], fit_rows["is_fraud"].to_numpy())
        policy = None
        if policy_rows["is_fraud"].nunique() == 2:
            p = model.predict_proba(policy_rows[features])[:, 1]
            policy = FraudPolicy(MARKETPLACE_FRAUD_COSTS).fit(
                policy_rows["is_fraud"].to_numpy(), p, policy_rows["amount_minor"].to_numpy(np.float64)
            )
        return model, policy

    def write_bundle(self, model: Any, directory: Path) -> None:
        fraud_model, policy = model
        fraud_model.to_bundle(directory, policy=policy)

    @staticmethod
    def _holdout_scores(scorer: Any, data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
        y = data.holdout["is_fraud"].to_numpy(np.float64)
        p = np.asarray(scorer.predict_proba(data.holdout[list(data.extra["features"])]))[:, 1]
        return y, p

    def evaluate(self, scorer: Any, data: TrainingData) -> Evaluation:
        from cartwise.models import metrics

        y, p = self._holdout_scores(scorer, data)
        return Evaluation(
            {
                "average_precision": metrics.average_precision(y, p),
                "roc_auc": metrics.roc_auc(y, p),
                "brier": metrics.brier(y, p),
                "ece": metrics.expected_calibration_error(y, p),
                "recall_at_1pct_decline": metrics.recall_at_decline_rate(y, p, 0.01),
                "holdout_fraud_rate": float(y.mean()),
            },
            y_true=y,
            y_score=p,
        )

    def input_schema(self, data: TrainingData) -> InputSchema:
        return InputSchema.from_frame(data.holdout, list(data.extra["features"]))

    def extra_gates(self, scorer: Any, data: TrainingData) -> Sequence[GateResult]:
        from cartwise.models import metrics
        from cartwise.registry.gates import gate_result

        y, p = self._holdout_scores(scorer, data)
        rate = float(y.mean())
        ap = metrics.average_precision(y, p)
        return [
            gate_result(
                "discrimination",
                metrics.roc_auc(y, p),
                self.min_roc_auc,
                higher_is_better=True,
                what="holdout ROC AUC",
            ),
            gate_result(
                "precision_lift",
                ap / rate,
                self.min_precision_lift,
                higher_is_better=True,
                what=f"holdout average precision over the fraud rate ({ap:.4f} / {rate:.4f})",
            ),
        ]


def make_trainer(settings: Settings) -> FraudTrainer:
    """The fraud trainer with cartwise's defaults."""
    return FraudTrainer()
