"""Fairness report and promotion gate for credit decisions.

For each protected attribute (kept beside the data, never a model input) and each of its
groups the report gives:

* ``approval_rate`` — share of the group approved;
* ``di_ratio`` — disparate-impact ratio, the group's approval rate divided by that of the
  *reference* group, the most-favoured one (highest approval rate among groups large enough
  to gate). The four-fifths rule asks ``di_ratio >= 0.8``;
* ``tpr`` — equal-opportunity rate: the approval rate among the group's *good payers*
  (applicants who did not default), ``P(approved | repaid, group)``;
* ``eod`` — equal-opportunity difference, ``tpr(group) - tpr(reference)``;
* ``mean_pd``, ``default_rate``, ``calibration_gap = mean_pd - default_rate`` and ``ece`` (the
  expected calibration error of the PDs within the group, 10 equal-width bins).

:func:`fairness_gate` checks a report against :class:`FairnessThresholds`; groups smaller than
``min_group_size`` are reported but not gated (their rates are too noisy to act on). The
lifecycle's promotion step refuses a model whose gate result did not pass.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartwise.errors import MetricInputError
from cartwise.models.metrics import expected_calibration_error

__all__ = [
    "FairnessReport",
    "FairnessThresholds",
    "GateFailure",
    "GateResult",
    "GroupFairness",
    "age_band",
    "fairness_gate",
    "fairness_report",
]

logger = logging.getLogger(__name__)

_AGE_BANDS = ((18, 25, "18-24"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 55, "45-54"), (55, 65, "55-64"))


def age_band(years: Any) -> pd.Series:
    """Age in years -> reporting band: 18-24, 25-34, 35-44, 45-54, 55-64, 65+ (under 18 or missing: unknown)."""
    s = pd.Series(years)
    a = pd.to_numeric(s, errors="coerce")
    out = pd.Series("unknown", index=s.index, dtype=object)
    for lo, hi, label in _AGE_BANDS:
        out[(a >= lo) & (a < hi)] = label
    out[a >= 65] = "65+"
    return out


@dataclass(frozen=True)
class GroupFairness:
    """Fairness figures of one group of one protected attribute."""

    attribute: str
    group: str
    n: int
    n_good: int
    approval_rate: float
    di_ratio: float
    tpr: float
    eod: float
    mean_pd: float
    default_rate: float
    calibration_gap: float
    ece: float
    reference: bool
    gated: bool


@dataclass(frozen=True)
class FairnessReport:
    """All groups of all protected attributes."""

    groups: tuple[GroupFairness, ...]
    min_group_size: int

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(g) for g in self.groups])

    def to_dict(self) -> dict[str, Any]:
        return {"min_group_size": self.min_group_size, "groups": [asdict(g) for g in self.groups]}

    def group(self, attribute: str, group: str) -> GroupFairness:
        for g in self.groups:
            if g.attribute == attribute and g.group == group:
                return g
        raise KeyError(f"no group {group!r} of attribute {attribute!r} in the fairness report")


def _arrays(approved: Any, y_default: Any, pd_: Any, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(approved).ravel()
    y = np.asarray(y_default, dtype=np.float64).ravel()
    p = np.asarray(pd_, dtype=np.float64).ravel()
    for name, arr in (("approved", a), ("y_default", y), ("pd", p)):
        if arr.size != n:
            raise MetricInputError(f"fairness_report: {name} has {arr.size} rows, the protected frame {n}")
    if not np.isin(y, (0.0, 1.0)).all():
        raise MetricInputError("fairness_report: y_default must be 0 (repaid) or 1 (defaulted)")
    if not np.isin(a.astype(np.float64), (0.0, 1.0)).all():
        raise MetricInputError("fairness_report: approved must be booleans (True = approved)")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise MetricInputError("fairness_report: pd must be probabilities in [0, 1]")
    return a.astype(bool), y, p


def fairness_report(
    approved: Any,
    y_default: Any,
    pd_: Any,
    protected: pd.DataFrame,
    *,
    min_group_size: int = 30,
) -> FairnessReport:
    """Approval, disparate impact, equal opportunity and calibration by group (see the module docstring)."""
    if not isinstance(protected, pd.DataFrame) or protected.shape[1] == 0:
        raise MetricInputError("fairness_report needs a DataFrame with one column per protected attribute")
    a, y, p = _arrays(approved, y_default, pd_, len(protected))
    groups: list[GroupFairness] = []
    for attribute in protected.columns:
        labels = (
            protected[attribute].astype(object).where(protected[attribute].notna(), "missing").astype(str)
        )
        values = labels.to_numpy()
        stats = []
        for group in sorted(set(values)):
            m = values == group
            good = m & (y == 0)
            stats.append(
                {
                    "group": group,
                    "n": int(m.sum()),
                    "n_good": int(good.sum()),
                    "approval_rate": float(a[m].mean()),
                    "tpr": float(a[good].mean()) if good.any() else float("nan"),
                    "mean_pd": float(p[m].mean()),
                    "default_rate": float(y[m].mean()),
                    "ece": float(expected_calibration_error(y[m], p[m])) if m.sum() > 0 else float("nan"),
                }
            )
        eligible = [s for s in stats if s["n"] >= min_group_size] or stats
        ref = max(eligible, key=lambda s: (s["approval_rate"], s["n"]))
        for s in stats:
            di = s["approval_rate"] / ref["approval_rate"] if ref["approval_rate"] > 0 else float("nan")
            groups.append(
                GroupFairness(
                    attribute=str(attribute),
                    group=s["group"],
                    n=s["n"],
                    n_good=s["n_good"],
                    approval_rate=s["approval_rate"],
                    di_ratio=float(di),
                    tpr=s["tpr"],
                    eod=float(s["tpr"] - ref["tpr"]),
                    mean_pd=s["mean_pd"],
                    default_rate=s["default_rate"],
                    calibration_gap=s["mean_pd"] - s["default_rate"],
                    ece=s["ece"],
                    reference=s is ref,
                    gated=s["n"] >= min_group_size,
                )
            )
    return FairnessReport(tuple(groups), min_group_size)


@dataclass(frozen=True)
class FairnessThresholds:
    """Limits a model's decisions must respect to be promoted."""

    min_di_ratio: float = 0.8
    max_abs_eod: float = 0.1
    max_abs_calibration_gap: float = 0.05

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessThresholds:
        return cls(**dict(data))


@dataclass(frozen=True)
class GateFailure:
    """One breached threshold; ``margin`` is how far past it (negative = by how much it failed)."""

    attribute: str
    group: str
    metric: str
    value: float
    threshold: float
    margin: float


@dataclass(frozen=True)
class GateResult:
    """Whether the fairness gate passed and, if not, every breach."""

    passed: bool
    failures: tuple[GateFailure, ...]

    def summary(self) -> str:
        if self.passed:
            return "fairness gate passed"
        parts = [
            f"{f.attribute}={f.group}: {f.metric} {f.value:.3f} vs {f.threshold:.3f} (margin {f.margin:+.3f})"
            for f in self.failures
        ]
        return "fairness gate failed: " + "; ".join(parts)


def fairness_gate(report: FairnessReport, thresholds: FairnessThresholds | None = None) -> GateResult:
    """Check every gated group against the thresholds."""
    th = thresholds or FairnessThresholds()
    failures: list[GateFailure] = []
    for g in report.groups:
        if not g.gated:
            continue
        checks = (
            ("di_ratio", g.di_ratio, th.min_di_ratio, g.di_ratio - th.min_di_ratio),
            ("eod", g.eod, th.max_abs_eod, th.max_abs_eod - abs(g.eod)),
            (
                "calibration_gap",
                g.calibration_gap,
                th.max_abs_calibration_gap,
                th.max_abs_calibration_gap - abs(g.calibration_gap),
            ),
        )
        for metric, value, threshold, margin in checks:
            if np.isnan(margin) or margin < 0:
                failures.append(GateFailure(g.attribute, g.group, metric, value, threshold, float(margin)))
    result = GateResult(not failures, tuple(failures))
    logger.info("%s", result.summary())
    return result
