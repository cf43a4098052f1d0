"""Evaluation plots logged with every classifier run: ROC and precision-recall, calibration, lift.

Figures are drawn with matplotlib's object API on an Agg canvas (no pyplot global
state), so plotting is safe from any thread and needs no display.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

__all__ = ["write_classifier_plots"]


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return path


def _curves(ax_roc: Any, ax_pr: Any, y: np.ndarray, s: np.ndarray, label: str) -> None:
    fpr, tpr, _ = roc_curve(y, s)
    precision, recall, _ = precision_recall_curve(y, s)
    ax_roc.plot(fpr, tpr, label=label)
    ax_pr.plot(recall, precision, label=label)


def write_classifier_plots(
    y_true: np.ndarray,
    y_score: np.ndarray,
    out_dir: Path,
    *,
    champion_score: np.ndarray | None = None,
    n_bins: int = 10,
) -> list[Path]:
    """Write roc_pr.png, calibration.png and lift.png for a holdout; the champion is overlaid when given."""
    out_dir.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    scored = [("challenger", s)] + (
        [("champion", np.asarray(champion_score, np.float64))] if champion_score is not None else []
    )
    paths = []

    fig = Figure(figsize=(10, 4.5))
    ax_roc, ax_pr = fig.subplots(1, 2)
    for label, score in scored:
        _curves(ax_roc, ax_pr, y, score, label)
    ax_roc.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax_roc.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    ax_pr.axhline(y.mean(), linestyle=":", color="grey")
    ax_pr.set(title="Precision-recall", xlabel="recall", ylabel="precision")
    ax_roc.legend(loc="lower right")
    paths.append(_save(fig, out_dir / "roc_pr.png"))

    # Reliability diagram with equal-width bins, the same binning as the ECE gate.
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    for label, score in scored:
        bins = np.clip(np.digitize(score, edges[1:-1]), 0, n_bins - 1)
        counts = np.bincount(bins, minlength=n_bins)
        mean_p = np.bincount(bins, weights=score, minlength=n_bins)
        rate = np.bincount(bins, weights=y, minlength=n_bins)
        keep = counts > 0
        ax.plot(mean_p[keep] / counts[keep], rate[keep] / counts[keep], marker="o", label=label)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey")
    ax.set(title="Calibration", xlabel="mean predicted probability", ylabel="observed rate")
    ax.legend(loc="upper left")
    paths.append(_save(fig, out_dir / "calibration.png"))

    # Lift by score decile: positive rate in each decile over the base rate.
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    base = max(float(y.mean()), 1e-12)
    width = 0.4
    for i, (label, score) in enumerate(scored):
        order = np.argsort(-score, kind="stable")
        deciles = np.array_split(y[order], 10)
        lift = [float(d.mean()) / base if len(d) else 0.0 for d in deciles]
        ax.bar(np.arange(1, 11) + (i - 0.5 * (len(scored) - 1)) * width, lift, width=width, label=label)
    ax.axhline(1.0, linestyle=":", color="grey")
    ax.set(title="Lift by score decile", xlabel="decile (1 = highest scores)", ylabel="lift")
    ax.legend(loc="upper right")
    paths.append(_save(fig, out_dir / "lift.png"))
    return paths
