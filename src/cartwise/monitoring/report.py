"""A self-contained HTML monitoring report: figures embedded as base64 PNG, no external files.

Sections: drift over time (inputs and scores, daily and weekly, with the PSI
bands), the weeks flagged and their top drifting inputs, label maturity,
realised vs estimated (CBPE) performance per cohort week, and calibration.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cartwise.monitoring.decision_log import MODEL_SCORES
from cartwise.monitoring.monitor import MonitorResult

__all__ = ["render_report", "write_report"]

logger = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.flag{color:#b00020;font-weight:600}.ok{color:#2e7d32;font-weight:600}
img{max-width:100%}.note{color:#555;font-size:.9em}
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode("ascii")}">'


def _bands(ax: Any, result: MonitorResult) -> None:
    lo, hi = result.drift.psi_bands
    ax.axhspan(lo, hi, color="#ffcc80", alpha=0.25, lw=0)
    ax.axhline(lo, color="#fb8c00", lw=0.8, ls="--")
    ax.axhline(hi, color="#d32f2f", lw=0.8, ls="--")


def _drift_figure(result: MonitorResult, top: int = 8) -> str:
    table = result.drift.table
    overall = (
        table[table["granularity"] == "week"].groupby("feature")["psi"].max().sort_values(ascending=False)
    )
    scores = list(MODEL_SCORES.values())
    features = [f for f in overall.index if f not in scores][:top]
    fig, axes = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    for ax, names, title in ((axes[0], features, "Model inputs"), (axes[1], scores, "Model scores")):
        for gran, style in (
            ("day", {"lw": 0.8, "alpha": 0.5}),
            ("week", {"lw": 2.0, "marker": "o", "ms": 3}),
        ):
            part = table[(table["granularity"] == gran) & table["feature"].isin(names)]
            for i, name in enumerate(names):
                rows = part[part["feature"] == name].sort_values("period_start")
                if rows.empty:
                    continue
                x = rows["period_start"] + (
                    pd.Timedelta(days=3.5) if gran == "week" else pd.Timedelta(hours=12)
                )
                ax.plot(
                    x.dt.tz_localize(None),
                    rows["psi"],
                    color=f"C{i % 10}",
                    label=name if gran == "week" else None,
                    **style,
                )
        _bands(ax, result)
        ax.set_ylabel("PSI vs reference")
        ax.set_title(f"{title}: daily (thin) and weekly (thick) PSI; bands 0.1 / 0.25")
        ax.legend(fontsize=8, ncol=2, loc="upper left")
        ax.set_yscale("symlog", linthresh=0.1)
    fig.autofmt_xdate()
    return _png(fig)


def _maturity_figure(result: MonitorResult) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for model, part in result.maturity.groupby("model"):
        n = int(part["n_labels"].iloc[0])
        ax.plot(part["days"], part["share_known"], label=f"{model} ({n:,} labels)")
    ax.axhline(0.95, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("days since the decision")
    ax.set_ylabel("share of eventual labels known")
    ax.set_title("Label maturity")
    ax.legend()
    return _png(fig)


def _performance_figure(result: MonitorResult) -> str:
    cohorts = result.cohorts
    fig, axes = plt.subplots(2, len(MODEL_SCORES), figsize=(11, 7), squeeze=False)
    for j, model in enumerate(MODEL_SCORES):
        part = cohorts[cohorts["model"] == model].sort_values("cohort_week")
        x = part["cohort_week"].dt.tz_localize(None)
        for i, (metric, label) in enumerate((("auc", "ROC AUC"), ("bad_rate", "bad rate"))):
            ax = axes[i][j]
            ax.plot(x, part[f"estimated_{metric}"], "o--", label="estimated (CBPE)", color="C0")
            mature = part["mature"].to_numpy(dtype=bool)
            real = part[f"realised_{metric}"].to_numpy(dtype=float)
            ax.plot(x, real, "-", color="C1", lw=1)
            ax.scatter(x[mature], real[mature], color="C1", label="realised (mature cohort)", zorder=3)
            ax.scatter(
                x[~mature],
                real[~mature],
                facecolors="none",
                edgecolors="C1",
                label="realised (labels still arriving)",
                zorder=3,
            )
            ax.set_title(f"{model}: {label} by cohort week")
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
            if i == 0 and j == 0:
                ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _calibration_figure(result: MonitorResult) -> str:
    fig, axes = plt.subplots(1, len(MODEL_SCORES), figsize=(10, 4), squeeze=False)
    for ax, model in zip(axes[0], MODEL_SCORES, strict=True):
        table = result.calibration.get(model)
        top = 0.0
        if table is not None and not table.empty:
            ax.plot(table["mean_score"], table["bad_rate"], "o-", label="observed")
            top = float(max(table["mean_score"].max(), table["bad_rate"].max()))
        top = top or 1.0
        ax.plot([0, top], [0, top], color="grey", ls=":", label="perfect calibration")
        ax.set_xlabel("mean score in bin")
        ax.set_ylabel("observed bad rate")
        mature = table is not None and bool(table.attrs.get("mature", False))
        which = "mature cohorts" if mature else "best-covered cohorts, labels still arriving"
        ax.set_title(f"{model}: calibration ({which})", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _fmt(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return "–" if not np.isfinite(value) else f"{value:.3f}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return html.escape(str(value))


def _table(frame: pd.DataFrame, left: tuple[str, ...] = ()) -> str:
    head = "".join(
        f'<th class="{"l" if c in left else ""}">{html.escape(str(c))}</th>' for c in frame.columns
    )
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f'<td class="{"l" if c in left else ""}">{_fmt(v)}</td>'
            for c, v in zip(frame.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_report(
    result: MonitorResult, *, title: str = "cartwise monitoring report", drift_start: Any = None
) -> str:
    """The report as one HTML string. ``drift_start``, if known (simulations), is marked against the flags."""
    flagged = result.flagged_weeks()
    weekly = result.drift.period_summary("week")
    weekly["flag"] = weekly["n_major"] > 0
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Reference window {result.reference_start:%Y-%m-%d} – {result.reference_end:%Y-%m-%d}; "
        f"monitored up to {result.as_of:%Y-%m-%d %H:%M} UTC; reference approval rate {result.approval_rate_reference:.3f}.</p>",
    ]
    if flagged:
        weeks = ", ".join(f"{w:%Y-%m-%d}" for w in flagged)
        parts.append(
            f'<p class="flag">Drift flagged (an input or score at PSI ≥ {result.drift.psi_bands[1]}) in the weeks starting {weeks}.</p>'
        )
    else:
        parts.append('<p class="ok">No week of the monitored window reached the major PSI band.</p>')
    if drift_start is not None:
        start = pd.Timestamp(drift_start)
        parts.append(f"<p class='note'>Known drift start (simulation): {start:%Y-%m-%d}.</p>")
    parts += [
        "<h2>Drift over time</h2>",
        _drift_figure(result),
        "<h2>Weekly drift summary and top drifting inputs</h2>",
        _table(
            weekly[["period_start", "n", "max_psi", "n_moderate", "n_major", "flag", "top_features"]],
            left=("top_features",),
        ),
        "<h2>Label maturity</h2>",
        "<p class='note'>Share of the labels the tables hold now that were known a given number of days after the decision. "
        "Realised figures for a cohort younger than the curve's plateau are incomplete.</p>",
        _maturity_figure(result),
        "<h2>Realised vs estimated performance</h2>",
        "<p class='note'>Estimated: CBPE from the calibrated scores, available the day the decisions are made. "
        "Realised: only labels known by the report date (hollow markers: cohort not yet mature), so the estimate's error "
        "is the gap once the realised marker turns solid.</p>",
        _performance_figure(result),
        _table(
            result.cohorts[
                [
                    "model",
                    "cohort_week",
                    "n_decisions",
                    "approval_rate",
                    "n_labelled",
                    "label_coverage",
                    "mature",
                    "realised_auc",
                    "estimated_auc",
                    "auc_error",
                    "realised_bad_rate",
                    "estimated_bad_rate",
                    "fraud_loss_minor",
                ]
            ],
            left=("model",),
        ),
        "<h2>Calibration</h2>",
        _calibration_figure(result),
        "<h2>Gauges exported</h2>",
        _table(
            pd.DataFrame(
                [
                    {
                        "name": g.name,
                        "labels": ", ".join(f"{k}={v}" for k, v in g.labels.items()),
                        "value": g.value,
                    }
                    for g in result.gauges()
                ]
            ),
            left=("name", "labels"),
        ),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(result: MonitorResult, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`render_report` to ``path`` (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, **kwargs), encoding="utf-8")
    logger.info("wrote monitoring report to %s", path)
    return path
