"""Credit models on the simulator: ranking, calibration, fairness, profit curve and score bands.

The training frame comes from the feature platform: every labelled checkout is a spine row at
its ``created_at``, and the credit feature set is retrieved point in time, so nothing known only
after the checkout (its own outcome, later installments) can leak in. Protected attributes (the
customer's ``age_band`` and ``gender``) are joined beside the frame for the fairness report and
never given to a model.

Labels use the standard performance-window definition (:func:`performance_labels`): an order is
bad when it reached 60+ days past due within ``PERFORMANCE_WINDOW_DAYS`` (90) of its first due
date, and it is labelled only once that window has fully elapsed by the cut-off, so every label
is final and the later (test) period is not biased toward quick outcomes. The split is by time:
the earliest ``1 - test_share`` of checkouts train, the rest test.
On the test part the report gives AUC, KS, Brier and ECE for both models, the fairness
report, default rate by score band, and the limit policy's profit curve: for each risk
appetite, the share approved, the expected and the realised profit (merchant fees minus
funding cost minus the realised losses of defaulted approved orders, LGD applied), each
order judged on the plan its customer chose.

    python -m cartwise.models.credit.evaluate --customers 8000 --days 300
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cartwise.data.warehouse import Warehouse
from cartwise.decisions.credit_policy import CreditPolicy, CreditPolicyParams
from cartwise.errors import FeatureError
from cartwise.models.credit.features import CreditFeature
from cartwise.models.credit.monotone import MonotonePDModel
from cartwise.models.credit.scorecard import ScorecardModel
from cartwise.models.fairness import FairnessReport, fairness_report
from cartwise.models.metrics import brier, expected_calibration_error, ks_statistic, roc_auc

__all__ = [
    "DEFAULT_DAYS_PAST_DUE",
    "PERFORMANCE_WINDOW_DAYS",
    "SIMULATOR_CREDIT_FEATURES",
    "CreditEvaluation",
    "SimulatorCreditData",
    "default_rate_by_band",
    "evaluate_credit",
    "load_simulator_credit",
    "performance_labels",
    "profit_curve",
]

logger = logging.getLogger(__name__)

_C = "customer__"
SIMULATOR_CREDIT_FEATURES: tuple[CreditFeature, ...] = (
    CreditFeature(
        f"{_C}installments_late__count__all", +1, False, "CW01", "Number of late payments on earlier plans"
    ),
    CreditFeature(f"{_C}installments_late__count__90d", +1, False, "CW02", "Number of recent late payments"),
    CreditFeature(f"{_C}days_past_due__max__all", +1, False, "CW03", "Level of delinquency on earlier plans"),
    CreditFeature(
        f"{_C}overdue_installments__count__all", +1, False, "CW04", "Number of installments now overdue"
    ),
    CreditFeature(f"{_C}overdue_minor__sum__all", +1, False, "CW05", "Amount now past due"),
    CreditFeature(f"{_C}defaults__count__all", +1, False, "CW06", "Number of earlier plans in default"),
    CreditFeature("customer_late_share", +1, False, "CW07", "Proportion of installments paid late"),
    CreditFeature("customer_default_rate", +1, False, "CW08", "Proportion of earlier plans in default"),
    CreditFeature(f"{_C}resolved_max_dpd__mean__all", +1, False, "CW09", "Delinquency on completed plans"),
    CreditFeature("outstanding_to_amount", +1, False, "CW10", "Balance owed on earlier plans is too high"),
    CreditFeature(
        f"{_C}outstanding_minor__sum__all", +1, False, "CW11", "Total balance owed on earlier plans"
    ),
    CreditFeature("tenure_days", -1, False, "CW12", "Length of time account has been established"),
    CreditFeature(
        f"{_C}resolved_plans__count__all", 0, False, "CW13", "Limited repayment history on earlier plans"
    ),
    CreditFeature(f"{_C}installments_due__count__all", 0, False, "CW14", "Number of installments due so far"),
    CreditFeature(
        "amount_to_customer_mean_30d", 0, False, "CW15", "Amount requested compared with recent orders"
    ),
    CreditFeature("log_amount", 0, False, "CW16", "Amount of credit requested"),
    CreditFeature("plan_length_days", +1, False, "CW17", "Length of the requested installment plan"),
    CreditFeature("installment_amount_minor", 0, False, "CW18", "Size of each installment"),
    CreditFeature(f"{_C}checkouts__count__30d", 0, False, "CW19", "Number of recent orders"),
    CreditFeature(f"{_C}amount_minor__sum__30d", 0, False, "CW20", "Amount of recent orders"),
    CreditFeature(f"{_C}lifetime_checkouts__count__all", 0, False, "CW21", "Number of orders placed"),
)
"""The credit features of the feature catalog a simulator model uses, with directions and reason texts."""


@dataclass(frozen=True)
class SimulatorCreditData:
    """Point-in-time credit frame of the resolved checkouts, oldest first."""

    X: pd.DataFrame
    y: np.ndarray
    orders: pd.DataFrame
    protected: pd.DataFrame


DEFAULT_DAYS_PAST_DUE = 60
"""An order is *bad* once an installment of it is this many days past due (the simulator's default)."""
PERFORMANCE_WINDOW_DAYS = 90
"""Performance window: bad = 60+ days past due reached within this many days of the first due date."""


def load_simulator_credit(
    warehouse: Warehouse,
    features: Sequence[CreditFeature] = SIMULATOR_CREDIT_FEATURES,
    *,
    as_of: datetime | None = None,
    window_days: int = PERFORMANCE_WINDOW_DAYS,
) -> SimulatorCreditData:
    """The labelled checkouts with their point-in-time credit features, label, fee rate and protected attributes.

    Labels follow :func:`performance_labels` as of ``as_of`` (default: the newest checkout).
    """
    from cartwise.features.catalog import CREDIT_FEATURES
    from cartwise.features.offline import training_frame

    labels = performance_labels(warehouse, as_of=as_of, window_days=window_days)
    rows = warehouse.query(
        """
        SELECT c.checkout_id, c.customer_id, c.merchant_id, c.created_at, c.amount_minor, c.plan_type,
               c.n_installments, c.installment_interval_days, m.fee_rate,
               cu.age_band, cu.gender
        FROM checkouts c
        JOIN merchants m ON m.merchant_id = c.merchant_id
        JOIN customers cu ON cu.customer_id = c.customer_id
        ORDER BY c.created_at, c.checkout_id
        """
    )
    keep = pc.is_in(rows.column("checkout_id"), value_set=pa.array(labels.index.to_numpy()))
    rows = rows.filter(keep)
    if rows.num_rows == 0:
        raise FeatureError(
            f"no checkout's {window_days}-day performance window (from its first due date) has elapsed "
            f"by the cut-off {as_of or 'at the data end'}: use a later --end or simulate more days "
            "(at least about 120 plus the span to train on)"
        )
    keys = [k for k in CREDIT_FEATURES.join_keys if k in rows.column_names]
    spine_cols = dict.fromkeys(
        [*keys, "checkout_id", "created_at", "amount_minor", "n_installments", "installment_interval_days"]
    )
    spine = pa.table({c: rows.column(c) for c in spine_cols})
    frame = training_frame(warehouse, spine, CREDIT_FEATURES, timestamp_column="created_at").to_pandas()
    names = [f.name for f in features]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise FeatureError(f"the credit feature set lacks {missing}; update SIMULATOR_CREDIT_FEATURES")
    table = rows.to_pandas()
    y = labels.loc[table["checkout_id"].to_numpy(), "defaulted"].to_numpy(dtype=np.float64)
    return SimulatorCreditData(
        X=frame[names].astype(np.float64).reset_index(drop=True),
        y=y,
        orders=table[
            ["checkout_id", "customer_id", "created_at", "amount_minor", "plan_type", "fee_rate"]
        ].reset_index(drop=True),
        protected=table[["age_band", "gender"]].astype(str).reset_index(drop=True),
    )


def performance_labels(
    warehouse: Warehouse,
    *,
    as_of: datetime | None = None,
    window_days: int = PERFORMANCE_WINDOW_DAYS,
) -> pd.DataFrame:
    """Point-in-time credit labels, indexed by ``checkout_id``: ``first_due_at``, ``window_end``, ``defaulted``.

    Bad (``defaulted``) = some installment of the order reached ``DEFAULT_DAYS_PAST_DUE`` days past
    due within ``window_days`` of the order's first due date; an installment reaches it when it is
    still unpaid then (a later payment does not undo it). An order is labelled only once its window
    has fully elapsed by ``as_of``, so no label can still change, and only if no chargeback was
    reported by ``as_of`` (fraud is a fraud loss, not a credit outcome). Everything is read from the
    installment ledger as of ``as_of``; for genuine orders the label agrees with ``credit_outcomes``
    (``defaulted`` and ``known_at`` within the window).
    """
    if window_days < DEFAULT_DAYS_PAST_DUE:
        raise FeatureError(
            f"window_days={window_days} is shorter than the {DEFAULT_DAYS_PAST_DUE} days an order needs "
            f"to reach default; use at least {DEFAULT_DAYS_PAST_DUE}"
        )
    end = warehouse.query("SELECT max(created_at) AS end_at FROM checkouts").column("end_at")[0].as_py()
    if end is None:
        raise FeatureError("the checkouts table is empty: simulate or ingest data first")
    cut = _utc(end)
    if as_of is not None:
        # Nothing is known after the data's end, whatever cut-off is asked for.
        cut = min(cut, _utc(as_of))
    inst = warehouse.query("SELECT checkout_id, due_at, paid_at FROM installments").to_pandas()
    due = pd.to_datetime(inst["due_at"], utc=True)
    paid = pd.to_datetime(inst["paid_at"], utc=True)
    default_at = due + pd.Timedelta(days=DEFAULT_DAYS_PAST_DUE)
    # A payment after as_of is not known yet; NaT (unpaid) compares False, so it stays unpaid.
    paid_in_time = (paid < default_at) & (paid <= cut)
    reaches = pd.Series(default_at.where(~paid_in_time), index=inst.index)
    per_order = (
        pd.DataFrame({"checkout_id": inst["checkout_id"], "first_due_at": due, "bad_at": reaches})
        .groupby("checkout_id", sort=False)
        .agg(first_due_at=("first_due_at", "min"), bad_at=("bad_at", "min"))
    )
    per_order["window_end"] = per_order["first_due_at"] + pd.Timedelta(days=window_days)
    per_order = per_order[per_order["window_end"] <= cut]
    charged = warehouse.query("SELECT checkout_id, reported_at FROM chargebacks").to_pandas()
    fraud = charged.loc[pd.to_datetime(charged["reported_at"], utc=True) <= cut, "checkout_id"]
    per_order = per_order[~per_order.index.isin(fraud.to_numpy())]
    per_order["defaulted"] = (per_order["bad_at"] <= per_order["window_end"]).to_numpy(dtype=bool)
    logger.info(
        "credit labels as of %s: %d orders with an elapsed %d-day window, %.2f%% bad",
        cut,
        len(per_order),
        window_days,
        100 * per_order["defaulted"].mean() if len(per_order) else float("nan"),
    )
    return per_order[["first_due_at", "window_end", "defaulted"]]


def _utc(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def default_rate_by_band(pd_: Any, y: Any, n_bands: int = 10) -> pd.DataFrame:
    """Applicants cut into ``n_bands`` equal-count PD bands (1 = safest): count, mean PD, observed default rate."""
    p = np.asarray(pd_, dtype=np.float64)
    ranks = pd.Series(p).rank(method="first")
    band = np.ceil(ranks / len(p) * n_bands).astype(int).clip(1, n_bands)
    frame = pd.DataFrame({"band": band, "pd": p, "defaulted": np.asarray(y, dtype=np.float64)})
    out = frame.groupby("band").agg(
        n=("pd", "size"), mean_pd=("pd", "mean"), default_rate=("defaulted", "mean")
    )
    return out.reset_index()


def profit_curve(
    pd_: Any,
    y: Any,
    orders: pd.DataFrame,
    params: CreditPolicyParams,
    appetites: Sequence[float],
) -> pd.DataFrame:
    """Approval share, expected and realised profit (minor units) by risk appetite, each order on its own plan."""
    p = np.asarray(pd_, dtype=np.float64)
    plans = list(params.plan_types)
    chosen = orders["plan_type"].map({name: i for i, name in enumerate(plans)})
    if chosen.isna().any():
        raise FeatureError(
            f"orders use plans outside the policy's {plans}: {sorted(set(orders['plan_type']))}"
        )
    # Only the plan the customer chose is on offer: the others get PD 1 and can never qualify.
    matrix = np.ones((len(p), len(plans)))
    matrix[np.arange(len(p)), chosen.to_numpy(dtype=int)] = p
    amount = orders["amount_minor"].to_numpy(dtype=np.float64)
    fee = orders["fee_rate"].to_numpy(dtype=np.float64)
    rows = []
    for appetite in appetites:
        policy = CreditPolicy(params.with_appetite(appetite))
        decisions = policy.decide(matrix, amount, fee)
        approved = decisions["decision"].to_numpy() == "approve"
        rows.append(
            {
                "risk_appetite": appetite,
                "approval_rate": float(approved.mean()),
                "default_rate_approved": float(np.asarray(y)[approved].mean())
                if approved.any()
                else float("nan"),
                "expected_profit_minor": float(decisions["expected_profit_minor"].sum()),
                "realised_profit_minor": policy.realised_profit(decisions, amount, y, fee),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CreditEvaluation:
    """Everything the simulator report shows, per model."""

    metrics: pd.DataFrame
    fairness: dict[str, FairnessReport]
    bands: dict[str, pd.DataFrame]
    profit: dict[str, pd.DataFrame]
    models: dict[str, Any]


def evaluate_credit(
    data: SimulatorCreditData,
    *,
    test_share: float = 0.3,
    params: CreditPolicyParams | None = None,
    appetites: Sequence[float] = (0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 1.0),
    nthread: int = 1,
) -> CreditEvaluation:
    """Fit both models on the earlier checkouts and report on the later ones."""
    if not 0.05 <= test_share <= 0.8:
        raise FeatureError(f"test_share={test_share} must lie in [0.05, 0.8]")
    params = params or CreditPolicyParams()
    cut = int(len(data.y) * (1 - test_share))
    train, test = slice(0, cut), slice(cut, None)
    if data.y[train].min() == data.y[train].max() or data.y[test].min() == data.y[test].max():
        raise FeatureError(
            "the time split leaves one side with a single class: simulate more days or customers"
        )
    feats = SIMULATOR_CREDIT_FEATURES
    models: dict[str, Any] = {
        "monotone XGBoost": MonotonePDModel(feats, nthread=nthread),
        "WoE scorecard": ScorecardModel(feats),
    }
    rows, fairness, bands, profit = [], {}, {}, {}
    y_test = data.y[test]
    orders_test = data.orders.iloc[test].reset_index(drop=True)
    for name, model in models.items():
        model.fit(data.X.iloc[train], data.y[train])
        p = model.predict_proba(data.X.iloc[test])[:, 1]
        rows.append(
            {
                "model": name,
                "n_train": cut,
                "n_test": len(y_test),
                "default_rate_test": float(y_test.mean()),
                "auc": roc_auc(y_test, p),
                "ks": ks_statistic(y_test, p),
                "brier": brier(y_test, p),
                "ece": expected_calibration_error(y_test, p),
            }
        )
        approved = _approved(p, orders_test, params)
        fairness[name] = fairness_report(
            approved, y_test, p, data.protected.iloc[test].reset_index(drop=True)
        )
        bands[name] = default_rate_by_band(p, y_test)
        profit[name] = profit_curve(p, y_test, orders_test, params, appetites)
        logger.info("%s: AUC %.4f, approval %.3f at appetite %.2f", name, roc_auc(y_test, p), approved.mean(), params.risk_appetite)  # fmt: skip
    return CreditEvaluation(pd.DataFrame(rows), fairness, bands, profit, models)


def _approved(p: np.ndarray, orders: pd.DataFrame, params: CreditPolicyParams) -> np.ndarray:
    plans = list(params.plan_types)
    matrix = np.ones((len(p), len(plans)))
    matrix[
        np.arange(len(p)), orders["plan_type"].map({n: i for i, n in enumerate(plans)}).to_numpy(dtype=int)
    ] = p
    decisions = CreditPolicy(params).decide(
        matrix,
        orders["amount_minor"].to_numpy(dtype=np.float64),
        orders["fee_rate"].to_numpy(dtype=np.float64),
    )
    return np.asarray(decisions["decision"].to_numpy() == "approve")


def main(argv: Sequence[str] | None = None) -> None:
    """Simulate, load into a temporary DuckDB warehouse, evaluate and print the report."""
    import tempfile
    from pathlib import Path

    from cartwise.data.duckdb_warehouse import DuckDBWarehouse
    from cartwise.data.simulator import SimulationConfig, simulate

    parser = argparse.ArgumentParser(description="Credit models on the simulator")
    parser.add_argument("--customers", type=int, default=8_000)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--nthread", type=int, default=1, choices=[1, 2])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    tables = simulate(SimulationConfig(customers=args.customers, days=args.days, seed=args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = DuckDBWarehouse(Path(tmp) / "warehouse.duckdb")
        warehouse.write_tables(tables, mode="replace")
        data = load_simulator_credit(warehouse)
        warehouse.close()
    result = evaluate_credit(data, nthread=args.nthread)
    pd.set_option("display.width", 160)
    print(result.metrics.to_string(index=False))
    for name in result.models:
        print(
            f"\n== {name}: default rate by PD band (1 = safest)\n{result.bands[name].to_string(index=False)}"
        )
        print(f"\n== {name}: profit curve by risk appetite\n{result.profit[name].to_string(index=False)}")
        frame = result.fairness[name].to_frame()
        cols = ["attribute", "group", "n", "approval_rate", "di_ratio", "eod", "calibration_gap", "ece"]
        print(f"\n== {name}: fairness\n{frame[cols].to_string(index=False)}")


if __name__ == "__main__":
    main()
