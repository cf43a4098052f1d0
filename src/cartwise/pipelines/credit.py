"""The credit model on the lifecycle contract: labelled checkouts → calibrated monotone XGBoost PD bundle.

- Frame: :func:`cartwise.models.credit.evaluate.load_simulator_credit` — labelled
  checkouts, their point-in-time credit features from the feature platform, fee rate
  and the protected attributes (kept apart, never inputs).
- Labels (:func:`cartwise.models.credit.evaluate.performance_labels`): bad = 60+ days
  past due reached within 90 days of the order's first due date; an order is labelled
  only once that window has fully elapsed by the training cut-off (``--end``, or the
  data's end), so no label can still change. Of the labelled orders, by time, the
  newest ``holdout_fraction`` is the out-of-time holdout; the older train.
- Primary metric: ROC AUC; calibration: ECE.
- Extra gates: discrimination (holdout ROC AUC ≥ ``min_roc_auc``, so that even a first
  version with no champion to beat must rank applicants usefully) and fairness (:func:`cartwise.models.fairness.fairness_gate` on the
  policy's approvals of the holdout by age band and gender: disparate impact,
  equal opportunity, calibration gap) — a model that breaks it cannot be promoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from cartwise.config import Settings
from cartwise.pipelines.base import Evaluation, TrainContext, TrainingData, require_rows
from cartwise.pipelines.spines import read_table_checked, require_both_classes
from cartwise.registry.gates import GateResult
from cartwise.registry.schema import InputSchema

__all__ = ["CreditTrainer", "load_scorer", "make_trainer"]

_PROTECTED_PREFIX = "protected__"


def load_scorer(directory: Path) -> Any:
    """The PD model of a credit bundle (``predict_proba``), for the registry's generic loader."""
    from cartwise.models.credit.bundle import load_bundle

    return load_bundle(directory).model


@dataclass
class CreditTrainer:
    """Adapter from :mod:`cartwise.models.credit` to the lifecycle."""

    holdout_fraction: float = 0.3
    n_estimators: int = 600
    min_roc_auc: float = 0.6
    """Below this holdout AUC a PD model cannot rank applicants well enough to lend on, champion or not."""
    nthread: int = 1
    """XGBoost threads: 1 measured fastest on the shared 2-core machine (2 contended with other jobs)."""
    name: str = "credit"
    kind: Literal["classifier", "recommender"] = "classifier"
    primary_metric: str = "roc_auc"
    higher_is_better: bool = True
    calibration_metric: str | None = "ece"
    loader: str = "cartwise.pipelines.credit:load_scorer"

    def params(self) -> Mapping[str, Any]:
        from cartwise.models.credit.evaluate import PERFORMANCE_WINDOW_DAYS

        return {
            "holdout_fraction": self.holdout_fraction,
            "n_estimators": self.n_estimators,
            "nthread": self.nthread,
            "min_roc_auc": self.min_roc_auc,
            "performance_window_days": PERFORMANCE_WINDOW_DAYS,
            "model": "monotone_gbdt",
        }

    def build_data(self, context: TrainContext) -> TrainingData:
        from cartwise.features.catalog import CREDIT_FEATURES
        from cartwise.models.credit.evaluate import SIMULATOR_CREDIT_FEATURES, load_simulator_credit

        read_table_checked(
            context.warehouse,
            "checkouts",
            ["checkout_id", "customer_id", "merchant_id", "created_at", "amount_minor", "plan_type"],
        )
        read_table_checked(context.warehouse, "installments", ["checkout_id", "due_at", "paid_at"])
        read_table_checked(context.warehouse, "chargebacks", ["checkout_id", "reported_at"])
        data = load_simulator_credit(context.warehouse, as_of=context.end)
        names = [f.name for f in SIMULATOR_CREDIT_FEATURES]
        frame = pd.concat(
            [
                data.X[names].astype(np.float64),
                data.orders,
                data.protected.add_prefix(_PROTECTED_PREFIX),
                pd.DataFrame({"defaulted": data.y.astype(np.int64)}),
            ],
            axis=1,
        )
        times = pd.to_datetime(frame["created_at"], utc=True)
        if context.start is not None:
            frame = frame[times >= context.start]
            times = pd.to_datetime(frame["created_at"], utc=True)
        if context.end is not None:
            frame = frame[times < context.end]
        require_rows(frame, "labelled credit orders", context.start, context.end)
        frame = frame.sort_values(["created_at", "checkout_id"], kind="stable").reset_index(drop=True)
        cut = int(len(frame) * (1.0 - self.holdout_fraction))
        train, holdout = frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:].reset_index(drop=True)
        require_both_classes(train["defaulted"], "the credit training period")
        require_both_classes(holdout["defaulted"], "the credit holdout")
        return TrainingData(
            train=train,
            holdout=holdout,
            time_column="created_at",
            feature_version=CREDIT_FEATURES.version,
            extra={"features": names},
        )

    def fit(self, data: TrainingData, seed: int) -> Any:
        from cartwise.models.credit.evaluate import SIMULATOR_CREDIT_FEATURES
        from cartwise.models.credit.monotone import MonotonePDModel

        features = list(data.extra["features"])
        model = MonotonePDModel(
            SIMULATOR_CREDIT_FEATURES, n_estimators=self.n_estimators, nthread=self.nthread, random_state=seed
        )
        return model.fit(data.train[features], data.train["defaulted"].to_numpy())

    def write_bundle(self, model: Any, directory: Path) -> None:
        from cartwise.decisions.credit_policy import CreditPolicyParams
        from cartwise.models.credit.bundle import to_bundle

        to_bundle(model, directory, policy=CreditPolicyParams())

    def _scores(self, scorer: Any, data: TrainingData) -> np.ndarray:
        return np.asarray(scorer.predict_proba(data.holdout[list(data.extra["features"])]))[:, 1]

    def evaluate(self, scorer: Any, data: TrainingData) -> Evaluation:
        from cartwise.models import metrics

        y = data.holdout["defaulted"].to_numpy(np.float64)
        p = self._scores(scorer, data)
        return Evaluation(
            {
                "roc_auc": metrics.roc_auc(y, p),
                "ks": metrics.ks_statistic(y, p),
                "brier": metrics.brier(y, p),
                "ece": metrics.expected_calibration_error(y, p),
                "holdout_default_rate": float(y.mean()),
            },
            y_true=y,
            y_score=p,
        )

    def input_schema(self, data: TrainingData) -> InputSchema:
        return InputSchema.from_frame(data.holdout, list(data.extra["features"]))

    def extra_gates(self, scorer: Any, data: TrainingData) -> Sequence[GateResult]:
        from cartwise.decisions.credit_policy import CreditPolicy, CreditPolicyParams
        from cartwise.models import metrics
        from cartwise.models.fairness import FairnessThresholds, fairness_gate, fairness_report
        from cartwise.registry.gates import gate_result

        holdout = data.holdout
        p = self._scores(scorer, data)
        discrimination = gate_result(
            "discrimination",
            metrics.roc_auc(holdout["defaulted"].to_numpy(np.float64), p),
            self.min_roc_auc,
            higher_is_better=True,
            what="holdout ROC AUC",
        )
        params = CreditPolicyParams()
        plans = list(params.plan_types)
        # PD applies to the plan the shopper chose; other plans are priced out (PD 1).
        matrix = np.ones((len(p), len(plans)))
        chosen = holdout["plan_type"].map({plan: i for i, plan in enumerate(plans)}).to_numpy(dtype=int)
        matrix[np.arange(len(p)), chosen] = p
        decisions = CreditPolicy(params).decide(
            matrix, holdout["amount_minor"].to_numpy(np.float64), holdout["fee_rate"].to_numpy(np.float64)
        )
        approved = decisions["decision"].to_numpy() == "approve"
        protected = holdout[[c for c in holdout.columns if c.startswith(_PROTECTED_PREFIX)]]
        protected = protected.rename(columns=lambda c: c.removeprefix(_PROTECTED_PREFIX))
        thresholds = FairnessThresholds()
        report = fairness_report(approved, holdout["defaulted"].to_numpy(np.float64), p, protected)
        result = fairness_gate(report, thresholds)
        margins = []
        for g in report.groups:
            if g.gated:
                margins += [
                    ("di_ratio", g.di_ratio, thresholds.min_di_ratio, g.di_ratio - thresholds.min_di_ratio),
                    ("eod", g.eod, thresholds.max_abs_eod, thresholds.max_abs_eod - abs(g.eod)),
                    (
                        "calibration_gap",
                        g.calibration_gap,
                        thresholds.max_abs_calibration_gap,
                        thresholds.max_abs_calibration_gap - abs(g.calibration_gap),
                    ),
                ]
        finite = [m for m in margins if np.isfinite(m[3])]
        if not finite:
            return [discrimination, GateResult("fairness", result.passed, None, None, None, result.summary())]
        metric, value, threshold, margin = min(finite, key=lambda m: m[3])
        detail = (
            "breaches: " + result.summary().removeprefix("fairness gate failed: ")
            if not result.passed
            else f"fairness gate passed; tightest: {metric} {value:.3f} (margin {margin:+.3f})"
        )
        return [
            discrimination,
            GateResult("fairness", result.passed, float(value), float(threshold), float(margin), detail),
        ]


def make_trainer(settings: Settings) -> CreditTrainer:
    """The credit trainer with cartwise's defaults."""
    return CreditTrainer()
