"""Fraud model quality per fraud mechanism, so a mechanism the model misses is visible.

:func:`mechanism_report` takes labelled, scored orders and the mechanism of each
fraud (``account_takeover``, ``card_testing``, ``fraud_ring``,
``compromised_merchant``, ``synthetic_identity``; empty for genuine orders) and
returns one row per mechanism plus ``all``:

* ``auc_roc`` and ``average_precision``: that mechanism's frauds against all
  genuine orders (other mechanisms' frauds left out);
* ``recall_at_decline_rate``: share of the mechanism's frauds among the orders a
  policy declining the riskiest ``decline_rate`` of *all* orders would stop;
* ``money_caught``: the same, weighted by order amount.

:func:`simulator_report` runs the whole path on the simulator: simulate, load the
warehouse, compute the catalog's fraud features point-in-time, train on the
first part of the period, leave a gap the length of the chargeback delay, and
report on the rest with the simulator's true fraud types.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from cartwise.errors import MetricInputError
from cartwise.models import metrics

__all__ = ["mechanism_report", "simulator_report"]

logger = logging.getLogger(__name__)


def mechanism_report(
    y: Any, score: Any, amount: Any, mechanism: Any, *, decline_rate: float = 0.01
) -> pd.DataFrame:
    """Per-mechanism AUC ROC, AP, recall and money caught at ``decline_rate`` (see the module docstring)."""
    labels = np.asarray(y, dtype=np.float64).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    amt = np.asarray(amount, dtype=np.float64).ravel()
    kind = pd.Series(np.asarray(mechanism, dtype=object).ravel()).fillna("").astype(str).to_numpy()
    if not (labels.size == s.size == amt.size == kind.size):
        raise MetricInputError("labels, scores, amounts and mechanisms must have one value per order")
    if ((kind != "") != (labels == 1)).any():
        raise MetricInputError("every fraud needs a mechanism and no genuine order may have one")
    declined = metrics.top_fraction_mask(s, decline_rate)
    genuine = labels == 0
    rows = []
    for name in ["all", *sorted(set(kind[kind != ""]))]:
        fraud = labels == 1 if name == "all" else kind == name
        subset = genuine | fraud
        both = fraud.any() and genuine.any()
        rows.append(
            {
                "mechanism": name,
                "frauds": int(fraud.sum()),
                "auc_roc": metrics.roc_auc(labels[subset], s[subset]) if both else float("nan"),
                "average_precision": metrics.average_precision(labels[subset], s[subset])
                if both
                else float("nan"),
                "recall_at_decline_rate": float((declined & fraud).sum() / max(fraud.sum(), 1)),
                "money_caught": float(amt[declined & fraud].sum() / max(amt[fraud].sum(), 1e-12)),
            }
        )
    return pd.DataFrame(rows)


def simulator_report(
    config: Any = None,
    *,
    train_share: float = 0.5,
    label_delay_days: int = 30,
    decline_rate: float = 0.01,
    model_params: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Train and evaluate the fraud model on simulated data; one row per fraud mechanism.

    Orders of the first ``train_share`` of the period train the model, the next
    ``label_delay_days`` are skipped, the rest are the test set. Training labels are
    the chargebacks reported before the test starts (what a model deployed then
    would know: the gap lets most of the training window's chargebacks arrive);
    the test is scored against the simulator's true fraud type of every order.
    """

    from cartwise.data.duckdb_warehouse import DuckDBWarehouse
    from cartwise.data.simulator import SimulationConfig, run
    from cartwise.features.catalog import FRAUD_FEATURES
    from cartwise.features.offline import training_frame
    from cartwise.models.fraud.trainer import FraudModel

    result = run(config if config is not None else SimulationConfig(customers=30_000, days=120))
    warehouse = DuckDBWarehouse(":memory:")
    warehouse.write_tables(result.tables)
    checkouts = result.tables["checkouts"]
    truth = result.truth["checkout_truth"].to_pandas()
    request_columns = [c for c in checkouts.column_names if c != "product_ids"]
    spine = checkouts.select(request_columns)
    frame = training_frame(warehouse, spine, FRAUD_FEATURES, timestamp_column="created_at").to_pandas()
    frame = frame.merge(truth, on="checkout_id", how="left")
    features = [c for c in FRAUD_FEATURES.feature_names if c in frame.columns]
    start, end = frame["created_at"].min(), frame["created_at"].max()
    train_end = start + (end - start) * train_share
    test_start = train_end + pd.Timedelta(days=label_delay_days)
    train = frame[frame["created_at"] < train_end]
    test = frame[frame["created_at"] >= test_start]
    if test.empty:
        raise MetricInputError("no test orders after the gap: simulate more days or lower train_share")
    # training labels: only chargebacks reported by the time the model is deployed (test start)
    reported = pd.to_datetime(train["chargeback_reported_at"], utc=True)
    y_train = (reported.notna() & (reported < test_start)).astype(int)
    model = FraudModel(**(model_params or {"scale_pos_weight": None, "max_bin": 1024})).fit(
        train[features].astype(np.float64), y_train
    )
    p = model.predict_proba(test[features].astype(np.float64))[:, 1]
    y_test = test["fraud_type"].notna().astype(int)
    warehouse.close()
    return mechanism_report(
        y_test, p, test["amount_minor"] / 100, test["fraud_type"], decline_rate=decline_rate
    )


if __name__ == "__main__":  # python -m cartwise.models.fraud.evaluate
    logging.basicConfig(level=logging.INFO)
    print(simulator_report().to_string(index=False))
