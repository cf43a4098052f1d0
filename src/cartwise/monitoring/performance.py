"""Realised performance as labels mature: join decisions to late labels, by cohort week.

Fraud labels are chargebacks (known at ``reported_at``, days to months after the
order); credit labels are credit outcomes (known at ``known_at``). Evaluating
"as of" a date counts only the labels known by then, so a young cohort looks
better than it is; the label-maturity curve (share of eventual labels known vs
days since the decision) says how far each cohort's labels have come, and the
report shows realised figures next to the CBPE estimate (:mod:`.cbpe`).

Only approved decisions can ever get a label (a declined order is never
shipped), so AUC, average precision, calibration, bad rate and fraud loss are
measured on approved decisions; the approval rate on all of them.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from cartwise.errors import SchemaError
from cartwise.monitoring.cbpe import estimate_performance
from cartwise.monitoring.decision_log import MODEL_SCORES

__all__ = [
    "MATURE_COVERAGE",
    "attach_labels",
    "calibration_table",
    "cohort_performance",
    "label_maturity",
]

logger = logging.getLogger(__name__)

Model = Literal["fraud", "credit"]

MATURE_COVERAGE = 0.95
"""A cohort whose expected label coverage reaches this is called mature."""

_DAY = pd.Timedelta(days=1)


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{name} lacks columns {missing}; it has {list(frame.columns)}")


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def attach_labels(
    decisions: pd.DataFrame,
    chargebacks: pd.DataFrame,
    credit_outcomes: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Decisions with the labels known by ``as_of``.

    Adds ``fraud_label`` (1 if a chargeback on the checkout was reported by then),
    ``chargeback_amount_minor`` and ``credit_label`` (1 defaulted, 0 repaid,
    missing while the outcome is unknown).
    """
    _require(decisions, "decision log", ["checkout_id", "decided_at", "outcome", "amount_minor"])
    _require(chargebacks, "chargebacks", ["checkout_id", "reported_at", "amount_minor"])
    _require(credit_outcomes, "credit_outcomes", ["checkout_id", "defaulted", "known_at"])
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    out = decisions.copy()
    out["decided_at"] = _utc(out["decided_at"])
    cb = chargebacks[_utc(chargebacks["reported_at"]) <= as_of]
    cb_by_checkout = cb.groupby("checkout_id")["amount_minor"].sum()
    out["chargeback_amount_minor"] = out["checkout_id"].map(cb_by_checkout).fillna(0).astype("int64")
    out["fraud_label"] = (out["checkout_id"].isin(cb_by_checkout.index)).astype("int64")
    co = credit_outcomes[_utc(credit_outcomes["known_at"]) <= as_of]
    co_by_checkout = co.drop_duplicates("checkout_id").set_index("checkout_id")["defaulted"].astype("float64")
    out["credit_label"] = out["checkout_id"].map(co_by_checkout)
    return out


def label_maturity(
    decisions: pd.DataFrame,
    chargebacks: pd.DataFrame,
    credit_outcomes: pd.DataFrame,
    max_days: int = 180,
) -> pd.DataFrame:
    """Share of eventual labels known vs days since the decision, per model.

    Eventual labels are those the label tables hold now. Columns: model, days, share_known, n_labels.
    """
    _require(decisions, "decision log", ["checkout_id", "decided_at"])
    decided = decisions.drop_duplicates("checkout_id").set_index("checkout_id")["decided_at"]
    decided = _utc(decided)
    days = np.arange(max_days + 1)
    rows = []
    for model, frame, known_col in (
        ("fraud", chargebacks, "reported_at"),
        ("credit", credit_outcomes, "known_at"),
    ):
        joined = frame[frame["checkout_id"].isin(decided.index)]
        delay = (_utc(joined[known_col]).to_numpy() - decided.loc[joined["checkout_id"]].to_numpy()) / _DAY
        delay = np.sort(np.asarray(delay, dtype=np.float64))
        n = delay.size
        share = np.searchsorted(delay, days, side="right") / n if n else np.full(days.size, np.nan)
        rows.append(pd.DataFrame({"model": model, "days": days, "share_known": share, "n_labels": n}))
    return pd.concat(rows, ignore_index=True)


def calibration_table(scores: np.ndarray, labels: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Mean score vs observed bad rate in score-quantile bins (columns: bin, n, mean_score, bad_rate)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if scores.size == 0:
        return pd.DataFrame(columns=["bin", "n", "mean_score", "bad_rate"])
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, n_bins + 1)[1:-1]))
    bins = np.searchsorted(edges, scores, side="right")
    frame = pd.DataFrame({"bin": bins, "score": scores, "label": labels})
    table = frame.groupby("bin").agg(
        n=("label", "size"), mean_score=("score", "mean"), bad_rate=("label", "mean")
    )
    return table.reset_index()


def _safe_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    if labels.size == 0 or labels.min() == labels.max():
        return float("nan"), float("nan")
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def _coverage_curve(maturity: pd.DataFrame | None, model: Model) -> tuple[np.ndarray, np.ndarray] | None:
    if maturity is None:
        return None
    part = maturity[maturity["model"] == model]
    if part.empty or part["share_known"].isna().all():
        return None
    return part["days"].to_numpy(dtype=np.float64), part["share_known"].to_numpy(dtype=np.float64)


def cohort_performance(
    labelled: pd.DataFrame,
    model: Model,
    as_of: pd.Timestamp,
    *,
    maturity: pd.DataFrame | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Realised and CBPE-estimated performance of one model per cohort week, as of a date.

    ``labelled`` comes from :func:`attach_labels`. Columns: cohort_week, n_decisions,
    approval_rate, n_approved, n_labelled, label_coverage, mature, realised_auc,
    realised_ap, realised_bad_rate, estimated_auc, estimated_ap, estimated_bad_rate,
    estimated_precision and estimated_recall (at ``threshold``), auc_error (estimated −
    realised), calibration_error, fraud_loss_minor.
    """
    if model not in MODEL_SCORES:
        raise SchemaError(f"unknown model {model!r}; monitored models are {', '.join(MODEL_SCORES)}")
    score_col = MODEL_SCORES[model]
    label_col = "fraud_label" if model == "fraud" else "credit_label"
    _require(labelled, "labelled decisions", ["decided_at", "outcome", score_col, label_col])
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    frame = labelled[_utc(labelled["decided_at"]) <= as_of].copy()
    decided = _utc(frame["decided_at"])
    day = decided.dt.floor("D")
    frame["cohort_week"] = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    frame["age_days"] = (as_of - decided).dt.total_seconds() / 86_400.0
    curve = _coverage_curve(maturity, model)
    rows = []
    for week, group in frame.groupby("cohort_week", sort=True):
        approved = group[group["outcome"] == "approve"]
        scores = approved[score_col].to_numpy(dtype=np.float64)
        estimate = estimate_performance(scores, threshold)
        if model == "fraud":
            labels = approved[label_col].to_numpy(dtype=np.float64)
            n_labelled = int(labels.sum())
            if curve is not None:
                coverage = (
                    float(np.interp(approved["age_days"].to_numpy(), curve[0], curve[1]).mean())
                    if len(approved)
                    else np.nan
                )
            else:
                coverage = np.nan
            eval_scores = scores
            loss = (
                int(approved["chargeback_amount_minor"].sum()) if "chargeback_amount_minor" in approved else 0
            )
        else:
            known = approved[label_col].notna().to_numpy()
            labels = approved[label_col].to_numpy(dtype=np.float64)[known]
            eval_scores = scores[known]
            n_labelled = int(known.sum())
            coverage = n_labelled / len(approved) if len(approved) else np.nan
            loss = 0
        auc, ap = _safe_auc(labels, eval_scores)
        bad_rate = float(labels.mean()) if labels.size else np.nan
        calib = float(abs(eval_scores.mean() - bad_rate)) if labels.size else np.nan
        rows.append(
            {
                "model": model,
                "cohort_week": week,
                "n_decisions": len(group),
                "approval_rate": float((group["outcome"] == "approve").mean()),
                "n_approved": len(approved),
                "n_labelled": n_labelled,
                "label_coverage": coverage,
                "mature": bool(np.isfinite(coverage) and coverage >= MATURE_COVERAGE),
                "realised_auc": auc,
                "realised_ap": ap,
                "realised_bad_rate": bad_rate,
                "estimated_auc": estimate.auc,
                "estimated_ap": estimate.average_precision,
                "estimated_bad_rate": estimate.bad_rate,
                "estimated_precision": estimate.precision,
                "estimated_recall": estimate.recall,
                "auc_error": estimate.auc - auc,
                "calibration_error": calib,
                "fraud_loss_minor": loss,
            }
        )
    return pd.DataFrame(rows)
