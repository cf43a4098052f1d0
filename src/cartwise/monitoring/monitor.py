"""One monitoring pass: drift, realised and estimated performance, and the gauges the alerts read.

:func:`run_monitoring` takes a decision log and the label tables, splits the log
into a reference window (the first ``reference_days``, standing for the models'
training window) and the monitored window after it, and computes:

- drift of every model input and score, overall and per day and week (:mod:`.drift`);
- label maturity and per-cohort-week realised performance as of ``as_of``
  (:mod:`.performance`) next to the CBPE estimate (:mod:`.cbpe`);
- the gauges of :data:`~cartwise.monitoring.metric_names.MONITOR_GAUGES`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cartwise.errors import SchemaError
from cartwise.monitoring import metric_names as mn
from cartwise.monitoring.decision_log import MODEL_SCORES, feature_columns, validate_decision_log
from cartwise.monitoring.drift import PSI_BANDS, DriftDetector, DriftResult
from cartwise.monitoring.gauges import GaugeSample
from cartwise.monitoring.performance import (
    attach_labels,
    calibration_table,
    cohort_performance,
    label_maturity,
)

__all__ = ["MonitorResult", "run_monitoring"]

logger = logging.getLogger(__name__)

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class MonitorResult:
    """Everything one monitoring pass computed."""

    as_of: pd.Timestamp
    reference_start: pd.Timestamp
    reference_end: pd.Timestamp
    drift: DriftResult
    """Inputs and scores (scores appear under their log column names)."""
    model_inputs: Mapping[str, tuple[str, ...]]
    maturity: pd.DataFrame
    cohorts: pd.DataFrame
    """Per model and cohort week: realised and estimated performance (see cohort_performance)."""
    calibration: Mapping[str, pd.DataFrame]
    """Per model: calibration table (mean score vs bad rate) of the mature cohorts, or of the
    best-covered ones while none is mature (``attrs["mature"]`` says which)."""
    approval_rate_reference: float
    last_full_week: pd.Timestamp | None

    def flagged_weeks(self, min_major: int = 1) -> list[pd.Timestamp]:
        """Weeks of the monitored window in which some input or score reached the major PSI band."""
        return self.drift.flagged_periods("week", min_major=min_major)

    def flagged_days(self, min_major: int = 1) -> list[pd.Timestamp]:
        return self.drift.flagged_periods("day", min_major=min_major)

    def gauges(self, now: dt.datetime | None = None) -> list[GaugeSample]:
        """The monitoring gauges, from the last full week of the monitored window."""
        now = now or dt.datetime.now(dt.UTC)
        samples = [
            GaugeSample(mn.APPROVAL_RATE_REFERENCE.name, self.approval_rate_reference),
            GaugeSample(mn.MONITOR_LAST_RUN_TIMESTAMP_SECONDS.name, now.timestamp()),
        ]
        week = self.drift.table[
            (self.drift.table["granularity"] == "week")
            & (self.drift.table["period_start"] == self.last_full_week)
        ]
        psi_of = {str(f): float(v) for f, v in zip(week["feature"], week["psi"], strict=True)}
        for model, score_col in MODEL_SCORES.items():
            inputs = self.model_inputs.get(model, ())
            if psi_of:
                psis = [psi_of[f] for f in inputs if f in psi_of]
                for feature in inputs:
                    if feature in psi_of:
                        samples.append(
                            GaugeSample(
                                mn.FEATURE_PSI.name,
                                psi_of[feature],
                                {"model": model, "feature": feature},
                            )
                        )
                samples.append(
                    GaugeSample(
                        mn.DRIFTED_FEATURES.name,
                        float(sum(p >= PSI_BANDS[1] for p in psis)),
                        {"model": model},
                    )
                )
                if score_col in psi_of:
                    samples.append(GaugeSample(mn.SCORE_PSI.name, psi_of[score_col], {"model": model}))
            cohorts = self.cohorts[self.cohorts["model"] == model] if not self.cohorts.empty else self.cohorts
            if cohorts.empty:
                continue
            latest = cohorts[cohorts["cohort_week"] == self.last_full_week]
            if not latest.empty:
                row = latest.iloc[0]
                for metric, col in (
                    (mn.ESTIMATED_AUC, "estimated_auc"),
                    (mn.ESTIMATED_BAD_RATE, "estimated_bad_rate"),
                ):
                    if np.isfinite(row[col]):
                        samples.append(GaugeSample(metric.name, float(row[col]), {"model": model}))
            realised = _realised_cohort(cohorts)
            if realised is not None:
                for metric, col in (
                    (mn.REALISED_AUC, "realised_auc"),
                    (mn.REALISED_BAD_RATE, "realised_bad_rate"),
                    (mn.LABEL_COVERAGE, "label_coverage"),
                ):
                    if np.isfinite(realised[col]):
                        samples.append(GaugeSample(metric.name, float(realised[col]), {"model": model}))
        return samples


def _realised_cohort(cohorts: pd.DataFrame) -> pd.Series | None:
    """The most recent mature cohort with a realised AUC, else the best-covered one."""
    usable = cohorts[np.isfinite(cohorts["realised_auc"].astype(float))]
    if usable.empty:
        return None
    mature = usable[usable["mature"]]
    if not mature.empty:
        return mature.sort_values("cohort_week").iloc[-1]
    return usable.sort_values(["label_coverage", "cohort_week"]).iloc[-1]


def _to_utc(moment: object) -> pd.Timestamp:
    ts = pd.Timestamp(moment)  # type: ignore[arg-type]
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def run_monitoring(
    decision_log: pa.Table,
    chargebacks: pa.Table,
    credit_outcomes: pa.Table,
    *,
    reference_days: int = 42,
    as_of: object = None,
    model_inputs: Mapping[str, Sequence[str]] | None = None,
    n_bins: int = 10,
    n_jobs: int = 1,
    threshold: float = 0.5,
) -> MonitorResult:
    """Run drift, performance and estimation on a decision log; see the module docstring.

    ``model_inputs`` maps each model to the log features it reads (default: every
    feature, for both models). ``as_of`` defaults to the last decision's time.
    """
    if reference_days < 1:
        raise SchemaError(f"reference_days must be at least 1, got {reference_days}")
    log = validate_decision_log(decision_log)
    if log.num_rows == 0:
        raise SchemaError("the decision log is empty; nothing to monitor")
    decided = log.column("decided_at")
    first = _to_utc(pc.min(decided).as_py())
    last = _to_utc(pc.max(decided).as_py())
    as_of_ts = _to_utc(as_of) if as_of is not None else last
    reference_start = first.floor("D")
    reference_end = reference_start + reference_days * _DAY
    in_reference = pc.less(decided, pa.scalar(reference_end.to_pydatetime(), decided.type))
    monitored_mask = pc.and_(
        pc.invert(in_reference), pc.less_equal(decided, pa.scalar(as_of_ts.to_pydatetime(), decided.type))
    )
    reference = log.filter(in_reference)
    monitored = log.filter(monitored_mask)
    if reference.num_rows == 0 or monitored.num_rows == 0:
        raise SchemaError(
            f"reference window ({reference.num_rows} decisions before {reference_end.date()}) and monitored "
            f"window ({monitored.num_rows} decisions up to {as_of_ts.date()}) must both hold decisions; "
            "change --reference-days or --as-of"
        )
    features = feature_columns(log)
    inputs = list(features.column_names)
    model_inputs_t = {
        m: tuple(model_inputs[m]) if model_inputs and m in model_inputs else tuple(inputs)
        for m in MODEL_SCORES
    }
    unknown = {f for fs in model_inputs_t.values() for f in fs} - set(inputs)
    if unknown:
        raise SchemaError(f"model inputs {sorted(unknown)} are not in the decision log's features {inputs}")
    for score_col in MODEL_SCORES.values():
        features = features.append_column(score_col, log.column(score_col))
    detector = DriftDetector(n_bins=n_bins, n_jobs=n_jobs).fit(features.filter(in_reference))
    drift = detector.compute(features.filter(monitored_mask), decided.filter(monitored_mask))
    logger.info(
        "drift: %d rows vs %d reference rows, %d columns",
        monitored.num_rows,
        reference.num_rows,
        features.num_columns,
    )

    decisions_df = log.drop_columns(["numeric_features", "categorical_features"]).to_pandas()
    chargebacks_df = chargebacks.to_pandas()
    credit_df = credit_outcomes.to_pandas()
    maturity = label_maturity(decisions_df, chargebacks_df, credit_df)
    labelled = attach_labels(decisions_df, chargebacks_df, credit_df, as_of_ts)
    monitored_labelled = labelled[labelled["decided_at"] >= reference_end]
    cohorts: pd.DataFrame = pd.concat(
        [
            cohort_performance(monitored_labelled, model, as_of_ts, maturity=maturity, threshold=threshold)
            for model in ("fraud", "credit")
        ],
        ignore_index=True,
    )
    calibration = _calibration(monitored_labelled, cohorts)
    outcome = reference.column("outcome")
    approval_rate = float(pc.mean(pc.cast(pc.equal(outcome, "approve"), pa.float64())).as_py())
    week_rows = drift.table[drift.table["granularity"] == "week"]
    full_weeks = sorted(
        w for w in week_rows["period_start"].unique() if w + 7 * _DAY <= as_of_ts + pd.Timedelta(seconds=1)
    )
    last_full_week = full_weeks[-1] if full_weeks else None
    return MonitorResult(
        as_of=as_of_ts,
        reference_start=reference_start,
        reference_end=reference_end,
        drift=drift,
        model_inputs=model_inputs_t,
        maturity=maturity,
        cohorts=cohorts,
        calibration=calibration,
        approval_rate_reference=approval_rate,
        last_full_week=last_full_week,
    )


def _calibration(labelled: pd.DataFrame, cohorts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    day = pd.to_datetime(labelled["decided_at"], utc=True).dt.floor("D")
    week = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    for model, score_col in MODEL_SCORES.items():
        label_col = "fraud_label" if model == "fraud" else "credit_label"
        part = cohorts[(cohorts["model"] == model)] if not cohorts.empty else cohorts
        weeks = part.loc[part["mature"], "cohort_week"] if not part.empty else []
        mature = len(weeks) > 0
        if not mature and not part.empty:  # nothing mature yet: use the best-covered half
            weeks = part.sort_values("label_coverage", ascending=False)["cohort_week"].head(
                max(1, len(part) // 2)
            )
        rows = labelled[
            week.isin(list(weeks)) & (labelled["outcome"] == "approve") & labelled[label_col].notna()
        ]
        table = calibration_table(rows[score_col].to_numpy(), rows[label_col].to_numpy())
        table.attrs["mature"] = mature  # False: labels still arriving, the observed rate is biased
        out[model] = table
    return out
