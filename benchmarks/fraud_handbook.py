"""Fraud Detection Handbook benchmark: reproduce the published baseline, then cartwise's own pipeline.

(a) The handbook's Chapter 3 baseline on its 15 precomputed features
    (``transformed.parquet``): logistic regression (and XGBoost with the 1.x
    defaults), scored by cartwise's metric code. Must give the published
    0.871 / 0.606 / 0.291 within 0.005: this checks the metrics and the protocol.
(b) cartwise's pipeline on ``raw.parquet``: the transactions loaded into a DuckDB
    warehouse as cartwise checkouts and chargebacks (reported 7 days after the
    order), features defined in the feature platform
    (:mod:`cartwise.models.fraud.handbook_features`) and computed by its offline
    point-in-time ``training_frame``, then cartwise's calibrated XGBoost fraud
    model, on the same train / delay / test windows. Hyperparameters (and the
    feature set) are chosen on two validation folds shifted 7 and 14 days earlier
    (never the test week): the best mean CP@100 among settings with mean AP >= 0.72.

    python benchmarks/fraud_handbook.py                # uses the parameters chosen by --tune
    python benchmarks/fraud_handbook.py --tune         # re-runs the validation grid first
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _results import DEFAULT_DATA, report
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.decisions.fraud_policy import FraudCosts, FraudPolicy
from cartwise.models import metrics
from cartwise.models.fraud import FraudModel, OutOfTimeWindows, known_compromised_filter, window_masks
from cartwise.models.fraud.handbook import (
    CHAPTER3_WINDOWS,
    HANDBOOK_FEATURES,
    PUBLISHED_CHAPTER3,
    PUBLISHED_CHAPTER5,
    HandbookScores,
    fit_logistic_baseline,
    load_transformed,
    score_handbook,
    split_chapter3,
)
from cartwise.models.fraud.handbook_features import (
    chargeback_detail_features,
    handbook_feature_set,
    handbook_training_frame,
    load_raw_into,
)

logger = logging.getLogger("fraud_handbook")

CHOSEN_PARAMS: dict[str, Any] = {"scale_pos_weight": None, "max_bin": 1024}
"""Chosen by ``--tune`` on the validation folds (best mean CP@100 with mean AP >= 0.72); see docs/fraud.md."""
CHOSEN_FEATURES = "all"
"""The feature set chosen by ``--tune`` with :data:`CHOSEN_PARAMS` (one of :data:`FEATURE_SETS`)."""

FEATURE_SETS = ("all", "without chargeback detail")
"""``all``: every feature of ``handbook_feature_set()``; the other drops the merchant's
reported frauds by kind and age (``chargeback_detail_features()``)."""

GOAL_AP = 0.72
GOAL_CP100 = 0.305

_BASE: dict[str, Any] = {"scale_pos_weight": 5.0, "max_bin": 1024}
TUNING_GRID: list[dict[str, Any]] = [
    _BASE,
    {**_BASE, "scale_pos_weight": None},
    {**_BASE, "scale_pos_weight": "balanced"},
    {**_BASE, "n_estimators": 500},
    {**_BASE, "n_estimators": 600, "learning_rate": 0.025},
    {**_BASE, "max_depth": 4},
    {**_BASE, "max_depth": 8},
    {**_BASE, "colsample_bytree": 0.5},
    {**_BASE, "min_child_weight": 5},
]

VALIDATION_WINDOWS = (CHAPTER3_WINDOWS.shifted(-7), CHAPTER3_WINDOWS.shifted(-14))
_META = {"checkout_id", "created_at", "customer_id", "merchant_id", "amount_minor", "fraud", "day"}


def feature_columns(frame: pd.DataFrame, feature_set: str) -> list[str]:
    """The model inputs of ``frame`` for one of :data:`FEATURE_SETS`."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; expected one of {FEATURE_SETS}")
    features = [c for c in frame.columns if c not in _META]
    if feature_set == "without chargeback detail":
        detail = set(chargeback_detail_features())
        features = [c for c in features if c not in detail]
    return features


def reproduce_baseline(data: Path, threads: int) -> dict[str, HandbookScores]:
    import xgboost as xgb

    frame = load_transformed(data)
    train, test = split_chapter3(frame)
    logger.info(
        "chapter 3 split: train %d rows (%d frauds), test %d rows (%d frauds)",
        len(train),
        train["TX_FRAUD"].sum(),
        len(test),
        test["TX_FRAUD"].sum(),
    )
    out = {"Logistic regression": score_handbook(test, fit_logistic_baseline(train, test))}
    from sklearn.preprocessing import StandardScaler

    features = list(HANDBOOK_FEATURES)
    scaler = StandardScaler().fit(train[features])
    # XGBoost 1.x defaults (the handbook's version): exact trees, base_score 0.5
    booster = xgb.XGBClassifier(random_state=0, tree_method="exact", base_score=0.5, n_jobs=threads)
    booster.fit(scaler.transform(train[features]), train["TX_FRAUD"])
    out["XGBoost"] = score_handbook(test, booster.predict_proba(scaler.transform(test[features]))[:, 1])
    return out


def own_frame(data: Path) -> pd.DataFrame:
    warehouse = DuckDBWarehouse(":memory:")
    started = time.perf_counter()
    orders = load_raw_into(warehouse, data)
    first = min(w.train_start for w in VALIDATION_WINDOWS)
    orders = orders[orders["created_at"] >= pd.Timestamp(first, tz="UTC")]
    frame: pd.DataFrame = handbook_training_frame(warehouse, orders)
    logger.info(
        "feature platform: %d rows x %d features in %.1f s",
        len(frame),
        len(handbook_feature_set().feature_names),
        time.perf_counter() - started,
    )
    warehouse.close()
    return frame


def _split(frame: pd.DataFrame, windows: OutOfTimeWindows) -> tuple[pd.DataFrame, pd.DataFrame]:
    train_mask, _ = window_masks(frame["created_at"], windows)
    keep = known_compromised_filter(frame["created_at"], frame["customer_id"], frame["fraud"], windows)
    return frame.loc[train_mask], frame.loc[keep]


def _scores(test: pd.DataFrame, p: np.ndarray) -> HandbookScores:
    y = test["fraud"].to_numpy()
    return HandbookScores(
        metrics.roc_auc(y, p),
        metrics.average_precision(y, p),
        metrics.card_precision_at_k(test["day"].to_numpy(), test["customer_id"].to_numpy(), y, p, k=100).mean,
    )


def tune(frame: pd.DataFrame, threads: int) -> tuple[str, dict[str, Any]]:
    """The (feature set, grid entry) with the best mean validation CP@100 among those with mean AP >= 0.72.

    Ties (CP@100 moves in steps of one card over a week) go to the higher mean AP.
    """
    results: list[tuple[float, float, str, dict[str, Any]]] = []
    for feature_set, params in itertools.product(FEATURE_SETS, TUNING_GRID):
        features = feature_columns(frame, feature_set)
        aps, cps = [], []
        for windows in VALIDATION_WINDOWS:
            train, valid = _split(frame, windows)
            model = FraudModel(calibration=None, n_jobs=threads, **params).fit(
                train[features], train["fraud"]
            )
            s = _scores(valid, model.decision_score(valid[features]))
            aps.append(s.average_precision)
            cps.append(s.card_precision_100)
        logger.info(
            "validation %s, %s: AP %s mean %.4f, CP@100 %s mean %.4f",
            feature_set,
            params,
            [round(a, 4) for a in aps],
            np.mean(aps),
            [round(c, 4) for c in cps],
            np.mean(cps),
        )
        results.append((float(np.mean(cps)), float(np.mean(aps)), feature_set, params))
    eligible = [r for r in results if r[1] >= GOAL_AP] or results
    cp, ap, feature_set, best = max(eligible, key=lambda r: (round(r[0], 6), r[1]))
    logger.info("chosen on validation: %s, %s (mean CP@100 %.4f, mean AP %.4f)", feature_set, best, cp, ap)
    return feature_set, best


def own_pipeline(
    frame: pd.DataFrame, feature_set: str, params: dict[str, Any], threads: int
) -> dict[str, Any]:
    features = feature_columns(frame, feature_set)
    # the decision policy's thresholds come from the first validation fold, like the hyperparameters
    v_train, v_valid = _split(frame, VALIDATION_WINDOWS[0])
    v_model = FraudModel(n_jobs=threads, **params).fit(v_train[features], v_train["fraud"])
    costs = FraudCosts(margin_rate=0.05, loss_given_fraud=1.0, review_cost=2.0, review_detection_rate=0.9)
    policy = FraudPolicy(costs, max_review_rate=0.01, max_false_decline_rate=0.001).fit(
        v_valid["fraud"], v_model.predict_proba(v_valid[features])[:, 1], v_valid["amount_minor"] / 100
    )
    train, test = _split(frame, CHAPTER3_WINDOWS)
    started = time.perf_counter()
    model = FraudModel(n_jobs=threads, **params).fit(train[features], train["fraud"])
    fit_seconds = time.perf_counter() - started
    p = model.predict_proba(test[features])[:, 1]
    y, amount = test["fraud"].to_numpy(), test["amount_minor"].to_numpy() / 100
    money = metrics.money_caught_at_decline_rate(y, p, amount, 0.01)
    return {
        "scores": _scores(test, p),
        "raw_scores": _scores(test, model.decision_score(test[features])),
        "recall_at_1pct": metrics.recall_at_decline_rate(y, p, 0.01),
        "money_caught_1pct": money.fraction_caught,
        "brier": metrics.brier(y, p),
        "ece": metrics.expected_calibration_error(y, p),
        "calibration": None if model.calibrator_ is None else model.calibrator_.method_,
        "policy": policy.evaluate(y, p, amount),
        "policy_thresholds": policy.thresholds,
        "n_features": len(features),
        "fit_seconds": fit_seconds,
        "train_rows": len(train),
        "test_rows": len(test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA / "fraud-handbook")
    parser.add_argument(
        "--threads", type=int, default=1, help="XGBoost threads (1 is fastest on a busy machine)"
    )
    parser.add_argument(
        "--tune", action="store_true", help="choose hyperparameters on the validation folds first"
    )
    parser.add_argument("--skip-own", action="store_true", help="only reproduce the published baseline")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (args.data / "transformed.parquet").is_file():
        parser.error(
            f"{args.data} does not hold the fraud-handbook dataset (transformed.parquet, raw.parquet)"
        )

    repro = reproduce_baseline(args.data, args.threads)
    rows: list[list[object]] = []
    for name, (auc, ap, cp) in PUBLISHED_CHAPTER3.items():
        rows.append([f"{name} — published (Ch. 3)", auc, ap, cp])
    for name, (auc, ap, cp) in PUBLISHED_CHAPTER5.items():
        rows.append([f"{name} — published", auc, ap, cp])
    for name, s in repro.items():
        label = f"{name} — cartwise re-run, 15 handbook features" + (
            " (1.x defaults)" if name == "XGBoost" else ""
        )
        rows.append([label, *s.as_tuple()])
    lr = repro["Logistic regression"].as_tuple()
    within = all(
        abs(a - b) <= 0.005 for a, b in zip(lr, PUBLISHED_CHAPTER3["Logistic regression"], strict=True)
    )
    notes = [
        f"Baseline reproduction (LR, ±0.005 of 0.871/0.606/0.291): {'PASS' if within else 'FAIL'}.",
        "Protocol: train 2018-07-25..07-31, delay 08-01..08-07, test 08-08..08-14; known-compromised "
        "cards removed per test day; CP@100 with the handbook's rules (cartwise.models.metrics).",
    ]
    if not args.skip_own:
        frame = own_frame(args.data)
        feature_set, params = tune(frame, args.threads) if args.tune else (CHOSEN_FEATURES, CHOSEN_PARAMS)
        own = own_pipeline(frame, feature_set, params, args.threads)
        s, raw = own["scores"], own["raw_scores"]
        rows.append(
            [
                f"cartwise pipeline: feature platform ({own['n_features']} features) + calibrated XGBoost",
                *s.as_tuple(),
            ]
        )
        goal = s.average_precision >= GOAL_AP and s.card_precision_100 >= GOAL_CP100
        pol = own["policy"]
        notes += [
            f"cartwise pipeline: feature set '{feature_set}', parameters {params}, calibration {own['calibration']}, "
            f"{own['train_rows']} training rows, fit {own['fit_seconds']:.1f} s; "
            f"uncalibrated scores give {raw.auc_roc:.4f}/{raw.average_precision:.4f}/{raw.card_precision_100:.4f}.",
            f"Goal AP >= 0.72 and CP@100 >= 0.305: {'MET' if goal else 'NOT MET'} "
            f"(AP {s.average_precision:.4f}, CP@100 {s.card_precision_100:.4f}).",
            f"Test week at a 1% decline rate: recall {own['recall_at_1pct']:.3f}, fraud money caught "
            f"{own['money_caught_1pct']:.3f}; Brier {own['brier']:.5f}, ECE(10 equal bins) {own['ece']:.5f}.",
            f"Expected-cost policy (thresholds from the validation fold: review r > {own['policy_thresholds'][0]:.3g}, "
            f"decline r > {own['policy_thresholds'][1]:.3g}; margin 5%, review cost 2, review catches 90%): "
            f"money saved {pol.money_saved:,.0f} of {pol.fraud_loss_without_policy:,.0f} fraud loss, "
            f"false-decline rate {pol.false_decline_rate:.4%}, review rate {pol.review_rate:.3%}, "
            f"decline rate {pol.decline_rate:.3%}.",
        ]
    report(
        "Fraud Detection Handbook (Chapter 3 protocol, test week 2018-08-08..14)",
        "python benchmarks/fraud_handbook.py" + (" --tune" if args.tune else ""),
        ["model", "AUC ROC", "AP", "CP@100"],
        rows,
        "\n".join(f"- {n}" for n in notes),
    )


if __name__ == "__main__":
    main()
