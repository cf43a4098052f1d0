"""Credit PD models on public data: Taiwan credit card default and German credit.

Protocol (the datasets' READMEs): 5-fold stratified CV, shuffle, seed 42. For each outer fold
the calibrated WoE scorecard and the calibrated monotone XGBoost model are fitted on the
training folds only — their calibration and early stopping use inner folds of the training
data, and the small hyper-parameter grid of the boosted model is chosen on the inner
out-of-fold AUC, never on the test fold. Protected attributes (sex, age, marital status;
personal status and sex, age, foreign worker) are never inputs; they are kept aside for the
fairness summary.

Stacked champion (benchmark only): both models compute inner out-of-fold scores on the same
inner folds of the training data; a logistic regression on their two log-odds (weights kept
non-negative, so every declared direction still holds) combines them. Its log-odds split
exactly, up to a constant, into one push per feature — the boosted model's TreeSHAP value
times its weight plus the scorecard's points lost over ``factor`` times its weight — so its
reasons come from both models (:meth:`StackedChampion.contributions`, checked on every test
fold).

Fairness: each test fold's applicants are approved when their calibrated PD is below the
training folds' default rate (better-than-average risk); the report pools the five test folds.

    .venv/bin/python benchmarks/credit_public.py --data ../shared/datasets
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
from _results import DEFAULT_DATA, report
from cartwise.models.credit.features import CreditFeature
from cartwise.models.credit.monotone import MonotonePDModel
from cartwise.models.credit.public_data import CreditDataset, load_german, load_taiwan
from cartwise.models.credit.reasons import select_reasons
from cartwise.models.credit.scorecard import ScorecardModel
from cartwise.models.fairness import fairness_gate, fairness_report
from cartwise.models.metrics import brier, expected_calibration_error, ks_statistic, roc_auc

BASELINES = {
    "taiwan": [
        ("logistic regression, standardised raw features", 0.7227, 0.0039, 0.380),
        ("logistic regression on optbinning WoE", 0.7690, 0.0025, 0.417),
        ("LightGBM default (100 trees)", 0.7805, 0.0046, 0.432),
        ("XGBoost hist default", 0.7656, 0.0039, 0.408),
    ],
    "german": [
        ("logistic regression, one-hot + standardised", 0.7802, 0.0226, 0.465),
        ("logistic regression on optbinning WoE", 0.7819, 0.0190, 0.468),
        ("LightGBM default, native categoricals", 0.7684, 0.0195, 0.436),
        ("XGBoost hist default, native categoricals", 0.7754, 0.0292, 0.452),
    ],
}
GOAL_AUC = 0.790

# Small grid for the boosted model, chosen per outer fold on the inner out-of-fold AUC of the
# training folds (never on the test fold). The second Taiwan candidate is a slower, deeper,
# more regularised booster (early stopping decides its rounds). On German's 800 training rows one
# booster's fit varies with its seed, so each candidate averages five seeded boosters (n_bags);
# on Taiwan's 24,000 that changed nothing.
GBDT_GRID: dict[str, list[dict[str, Any]]] = {
    "taiwan": [
        {"learning_rate": 0.05, "max_depth": 4, "min_child_weight": 5.0, "colsample_bytree": 0.7},
        {
            "learning_rate": 0.02,
            "max_depth": 6,
            "min_child_weight": 50.0,
            "colsample_bytree": 0.5,
            "n_estimators": 2000,
        },
    ],
    "german": [
        {**params, "n_bags": 5}
        for params in (
            {"learning_rate": 0.03, "max_depth": 3, "min_child_weight": 2.0, "colsample_bytree": 0.7},
            {"learning_rate": 0.03, "max_depth": 2, "min_child_weight": 2.0, "colsample_bytree": 0.5},
            {"learning_rate": 0.05, "max_depth": 4, "min_child_weight": 5.0, "colsample_bytree": 0.7},
        )
    ],
}


def fit_gbdt(ds: CreditDataset, X: Any, y: np.ndarray, nthread: int) -> MonotonePDModel:
    best: MonotonePDModel | None = None
    for params in GBDT_GRID[ds.name]:
        model = MonotonePDModel(ds.features, nthread=nthread, random_state=0, **params).fit(X, y)
        if best is None or model.oof_auc_ > best.oof_auc_:
            best = model
    assert best is not None
    return best


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1.0 - 1e-9)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


class StackedChampion:
    """``logit(PD) = b + w_sc * logit(scorecard PD) + w_gb * logit(boosted PD)``, with ``w >= 0``.

    The weights are a logistic regression on the two models' inner out-of-fold raw scores
    (same inner folds, training data only), which also calibrates the combination. A model
    whose weight comes out negative is dropped (weight 0) and the regression refitted, so the
    combination keeps every declared monotone direction.
    """

    def __init__(self, scorecard: ScorecardModel, gbdt: MonotonePDModel, y: np.ndarray) -> None:
        self.scorecard, self.gbdt = scorecard, gbdt
        self.features_: tuple[CreditFeature, ...] = gbdt.features_
        z = np.column_stack([_logit(scorecard.oof_raw_), _logit(gbdt.oof_raw_)])
        keep = [0, 1]
        while True:
            lr = LogisticRegression(C=1e6, max_iter=1000).fit(z[:, keep], y.astype(int))
            if (lr.coef_ >= 0).all() or len(keep) == 1:
                break
            keep = [k for k, c in zip(keep, lr.coef_.ravel(), strict=True) if c >= 0] or [1]
        self.weights_ = np.zeros(2)
        self.weights_[keep] = np.maximum(lr.coef_.ravel(), 0.0)
        self.intercept_ = float(lr.intercept_[0])

    def logit(self, X: pd.DataFrame) -> np.ndarray:
        z = np.column_stack([_logit(self.scorecard.raw_score(X)), _logit(self.gbdt.raw_score(X))])
        return np.asarray(self.intercept_ + z @ self.weights_, dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.logit(X)))
        return np.column_stack([1.0 - p, p])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each feature's push on the log-odds of default (both models, weighted); sums to logit - constant."""
        w_sc, w_gb = self.weights_
        out = w_gb * self.gbdt.contributions(X)
        lost = self.scorecard.points_lost(X) / self.scorecard.factor_
        return pd.DataFrame(out.add(w_sc * lost, fill_value=0.0)[[f.name for f in self.features_]])

    def check_reasons(self, X: pd.DataFrame) -> None:
        """The pushes add up to the log-odds (up to one constant) and give 1-4 reasons per applicant."""
        contrib = self.contributions(X)
        gap = self.logit(X) - contrib.sum(axis=1).to_numpy()
        assert np.ptp(gap) < 1e-3, f"contributions miss the log-odds by up to {np.ptp(gap):.2g}"
        reasons = select_reasons(contrib, self.features_)
        assert all(1 <= len(r) <= 4 for r in reasons)


BLEND = "mean of the two calibrated PDs (benchmark only)"
STACK = "stack of the two, non-negative weights on log-odds (benchmark only)"


def run_dataset(
    ds: CreditDataset, nthread: int
) -> tuple[list[list[object]], list[list[object]], dict[str, float]]:
    folds = list(StratifiedKFold(5, shuffle=True, random_state=42).split(ds.X, ds.y))
    makers = {
        "WoE scorecard (optbinning), calibrated": lambda X, y: ScorecardModel(
            ds.features, random_state=0
        ).fit(X, y),
        "monotone XGBoost, calibrated": lambda X, y: fit_gbdt(ds, X, y, nthread),
    }
    rows: list[list[object]] = []
    fair_rows: list[list[object]] = []
    seconds: dict[str, float] = dict.fromkeys(makers, 0.0)
    oof: dict[str, np.ndarray] = {name: np.zeros(len(ds.y)) for name in [*makers, BLEND, STACK]}
    for train_idx, test_idx in folds:
        fitted: dict[str, Any] = {}
        for name, make in makers.items():
            start = time.perf_counter()
            fitted[name] = make(ds.X.iloc[train_idx], ds.y[train_idx])
            oof[name][test_idx] = fitted[name].predict_proba(ds.X.iloc[test_idx])[:, 1]
            seconds[name] += time.perf_counter() - start
            print(
                f"  {ds.name} {name}: fold AUC {roc_auc(ds.y[test_idx], oof[name][test_idx]):.4f}", flush=True
            )
        oof[BLEND][test_idx] = np.mean([oof[name][test_idx] for name in makers], axis=0)
        scorecard, gbdt = fitted.values()
        stack = StackedChampion(scorecard, gbdt, ds.y[train_idx])
        oof[STACK][test_idx] = stack.predict_proba(ds.X.iloc[test_idx])[:, 1]
        stack.check_reasons(ds.X.iloc[test_idx[:500]])
        print(
            f"  {ds.name} stack (weights scorecard {stack.weights_[0]:.2f}, boosted {stack.weights_[1]:.2f}): "
            f"fold AUC {roc_auc(ds.y[test_idx], oof[STACK][test_idx]):.4f}",
            flush=True,
        )
    for name, pd_ in oof.items():
        metrics: dict[str, list[float]] = {k: [] for k in ("auc", "ks", "brier", "ece")}
        approved = np.zeros(len(ds.y), dtype=bool)
        for train_idx, test_idx in folds:
            p, y_test = pd_[test_idx], ds.y[test_idx]
            metrics["auc"].append(roc_auc(y_test, p))
            metrics["ks"].append(ks_statistic(y_test, p))
            metrics["brier"].append(brier(y_test, p))
            metrics["ece"].append(expected_calibration_error(y_test, p))
            approved[test_idx] = p < ds.y[train_idx].mean()
        oof_pd = pd_
        auc = np.array(metrics["auc"])
        rows.append(
            [
                ds.name,
                f"cartwise: {name}",
                f"{auc.mean():.4f} ± {auc.std():.4f}",
                2 * auc.mean() - 1,
                float(np.mean(metrics["ks"])),
                float(np.mean(metrics["brier"])),
                float(np.mean(metrics["ece"])),
                "yes" if auc.mean() >= GOAL_AUC else "no",
            ]
        )
        rep = fairness_report(approved, ds.y, oof_pd, ds.protected)
        gate = fairness_gate(rep)
        frame = rep.to_frame()
        for attribute, g in frame[frame["gated"]].groupby("attribute"):
            worst = g.loc[g["di_ratio"].idxmin()]
            fair_rows.append(
                [
                    ds.name,
                    name.split(",")[0],
                    attribute,
                    f"{g['group'].nunique()}",
                    f"{float(g['approval_rate'].min()):.3f}–{float(g['approval_rate'].max()):.3f}",
                    f"{float(worst['di_ratio']):.3f} ({worst['group']})",
                    float(g["eod"].abs().max()),
                    float(g["calibration_gap"].abs().max()),
                    "pass" if not [f for f in gate.failures if f.attribute == attribute] else "fail",
                ]
            )
    for base, auc_mean, auc_sd, ks in BASELINES[ds.name]:
        rows.append(
            [
                ds.name,
                f"README baseline: {base}",
                f"{auc_mean:.4f} ± {auc_sd:.4f}",
                2 * auc_mean - 1,
                ks,
                "",
                "",
                "",
            ]
        )
    return rows, fair_rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the shared datasets")
    parser.add_argument("--datasets", nargs="+", default=["taiwan", "german"], choices=["taiwan", "german"])
    parser.add_argument("--nthread", type=int, default=1, choices=[1, 2])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning)
    loaders = {
        "taiwan": lambda: load_taiwan(args.data / "taiwan-credit-default"),
        "german": lambda: load_german(args.data / "german-credit"),
    }
    rows: list[list[object]] = []
    fair_rows: list[list[object]] = []
    timing: list[str] = []
    for name in args.datasets:
        ds = loaders[name]()
        r, f, s = run_dataset(ds, args.nthread)
        rows += r
        fair_rows += f
        timing += [f"{name} {model}: {sec:.0f} s for 5 folds" for model, sec in s.items()]
    command = f"python benchmarks/credit_public.py --data {args.data} --datasets {' '.join(args.datasets)}"
    headers = ["data", "model", "AUC mean ± sd", "Gini", "KS", "Brier", "ECE", f"AUC ≥ {GOAL_AUC}"]
    notes = (
        "5-fold stratified CV (shuffle, seed 42). Protected attributes are not inputs (the README baselines used "
        "every column, protected ones included). Monotone constraints on for the boosted model; calibration "
        "(isotonic or Platt) chosen on inner out-of-fold scores; hyper-parameters chosen inside the training "
        "folds only. The blend row averages the two models' calibrated PDs per applicant; the stacked row "
        "combines the two models' log-odds with non-negative weights fitted on inner out-of-fold scores of the "
        "training folds (its reasons add both models' per-feature pushes). Both are reported for information "
        "and are not shipped models. Wall time on a shared 2-core machine (noisy): " + "; ".join(timing) + "."
    )
    report("Credit PD models on public data (Taiwan, German)", command, headers, rows, notes)
    fair_headers = [
        "data",
        "model",
        "protected attribute",
        "groups",
        "approval rate range",
        "lowest DI ratio (group)",
        "max abs EOD",
        "max abs calibration gap",
        "gate (DI ≥ 0.8, abs EOD ≤ 0.1, abs gap ≤ 0.05)",
    ]
    report(
        "Credit fairness on public data (pooled out-of-fold, approve when PD < training default rate)",
        command,
        fair_headers,
        fair_rows,
        "Groups with fewer than 30 applicants are reported by the library but not gated.",
    )


if __name__ == "__main__":
    main()
