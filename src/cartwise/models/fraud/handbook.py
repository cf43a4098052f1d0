"""The Fraud Detection Handbook's benchmark protocol (Le Borgne et al., ULB 2022, Chapter 3).

The handbook's simulated card transactions are cartwise's public fraud
scoreboard. This module holds the protocol so the benchmark and its test share
one definition:

* windows: train 2018-07-25 .. 07-31, delay 08-01 .. 08-07 (unused, the label
  delay), test 08-08 .. 08-14; from each test day, cards with a known fraud
  from the training start up to 8 days before are removed;
* the 15 baseline inputs (amount, weekend / night flags, 12 window features);
* the metrics, computed with :mod:`cartwise.models.metrics`: ROC AUC, average
  precision and card precision@100.

Data: ``transformed.parquet`` / ``raw.parquet`` of the shared
``fraud-handbook`` dataset (see its README for provenance and licence).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartwise.errors import SchemaError
from cartwise.models import metrics
from cartwise.models.fraud.split import OutOfTimeWindows, known_compromised_filter, window_masks

__all__ = [
    "CHAPTER3_WINDOWS",
    "HANDBOOK_FEATURES",
    "PUBLISHED_CHAPTER3",
    "PUBLISHED_CHAPTER5",
    "HandbookScores",
    "fit_logistic_baseline",
    "load_transformed",
    "score_handbook",
    "split_chapter3",
]

logger = logging.getLogger(__name__)

CHAPTER3_WINDOWS = OutOfTimeWindows(dt.date(2018, 7, 25), train_days=7, delay_days=7, test_days=7)
"""Train 07-25..07-31, delay 08-01..08-07, test 08-08..08-14."""

HANDBOOK_FEATURES = (
    "TX_AMOUNT",
    "TX_DURING_WEEKEND",
    "TX_DURING_NIGHT",
    "CUSTOMER_ID_NB_TX_1DAY_WINDOW",
    "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_7DAY_WINDOW",
    "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_30DAY_WINDOW",
    "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
    "TERMINAL_ID_NB_TX_1DAY_WINDOW",
    "TERMINAL_ID_RISK_1DAY_WINDOW",
    "TERMINAL_ID_NB_TX_7DAY_WINDOW",
    "TERMINAL_ID_RISK_7DAY_WINDOW",
    "TERMINAL_ID_NB_TX_30DAY_WINDOW",
    "TERMINAL_ID_RISK_30DAY_WINDOW",
)

PUBLISHED_CHAPTER3: dict[str, tuple[float, float, float]] = {
    "Logistic regression": (0.871, 0.606, 0.291),
    "Decision tree, depth 2": (0.763, 0.496, 0.241),
    "Decision tree, unlimited": (0.788, 0.309, 0.243),
    "Random forest": (0.867, 0.658, 0.287),
    "XGBoost": (0.862, 0.639, 0.273),
}
"""Handbook Chapter 3 test-set results: (AUC ROC, AP, CP@100)."""

PUBLISHED_CHAPTER5: dict[str, tuple[float, float, float]] = {
    "Logistic regression (Ch. 5, tuned)": (0.868, 0.623, 0.297),
    "Random forest (Ch. 5, tuned)": (0.870, 0.678, 0.299),
    "XGBoost (Ch. 5, grid search)": (0.869, 0.687, 0.303),
}
"""Handbook Chapter 5 prequential test results (means over 4 folds)."""

_RAW_COLUMNS = (
    "TRANSACTION_ID",
    "TX_DATETIME",
    "CUSTOMER_ID",
    "TERMINAL_ID",
    "TX_AMOUNT",
    "TX_TIME_DAYS",
    "TX_FRAUD",
)


@dataclass(frozen=True)
class HandbookScores:
    """The handbook's three test metrics."""

    auc_roc: float
    average_precision: float
    card_precision_100: float

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.auc_roc, self.average_precision, self.card_precision_100)


def _check_columns(frame: pd.DataFrame, needed: tuple[str, ...], path: Path) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{path} lacks the columns {missing}: it is not the fraud-handbook dataset this benchmark expects "
            "(see ../shared/datasets/fraud-handbook/README.md)"
        )


def load_transformed(data_dir: str | Path) -> pd.DataFrame:
    """``transformed.parquet`` of the shared fraud-handbook dataset, checked."""
    path = Path(data_dir) / "transformed.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: point --data at the fraud-handbook dataset folder")
    frame = pd.read_parquet(path)
    _check_columns(frame, (*_RAW_COLUMNS, *HANDBOOK_FEATURES), path)
    return frame


def split_chapter3(
    frame: pd.DataFrame, windows: OutOfTimeWindows = CHAPTER3_WINDOWS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) under the handbook's protocol, each sorted by TRANSACTION_ID as in the handbook."""
    train_mask, _ = window_masks(frame["TX_DATETIME"], windows)
    keep = known_compromised_filter(frame["TX_DATETIME"], frame["CUSTOMER_ID"], frame["TX_FRAUD"], windows)
    train = frame.loc[train_mask].sort_values("TRANSACTION_ID")
    test = frame.loc[keep].sort_values("TRANSACTION_ID")
    return train, test


def score_handbook(test: pd.DataFrame, scores: Any) -> HandbookScores:
    """AUC ROC, AP and card precision@100 (handbook rules) on the test rows."""
    y = test["TX_FRAUD"].to_numpy()
    return HandbookScores(
        auc_roc=metrics.roc_auc(y, scores),
        average_precision=metrics.average_precision(y, scores),
        card_precision_100=metrics.card_precision_at_k(
            test["TX_TIME_DAYS"].to_numpy(), test["CUSTOMER_ID"].to_numpy(), y, scores, k=100
        ).mean,
    )


def fit_logistic_baseline(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The handbook's baseline: StandardScaler + LogisticRegression(random_state=0) on the 15 inputs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    features = list(HANDBOOK_FEATURES)
    scaler = StandardScaler().fit(train[features])
    model = LogisticRegression(random_state=0).fit(scaler.transform(train[features]), train["TX_FRAUD"])
    return np.asarray(model.predict_proba(scaler.transform(test[features]))[:, 1], dtype=np.float64)
