"""A decision log made from simulator tables, for monitoring before the service logs real decisions.

It scores each simulated checkout with two small logistic regressions fitted on
a reference window (the first ``reference_days``): fraud on chargebacks, credit
on defaults. Logistic regression's probabilities are close to calibrated on the
data it was fitted on, which is what CBPE needs. A fixed policy turns the scores
into approve / review / decline. The model inputs are a handful of checkout and
customer attributes; ``checkout_features`` documents them. The result follows
:data:`~cartwise.monitoring.decision_log.DECISION_LOG_SCHEMA`, so every
monitoring step runs unchanged on it and on the service's real log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from cartwise.errors import SchemaError
from cartwise.monitoring.decision_log import DECISION_LOG_SCHEMA, validate_decision_log

__all__ = [
    "CATEGORICAL_FEATURES",
    "NUMERIC_FEATURES",
    "DecisionPolicy",
    "checkout_features",
    "decision_log_from_simulation",
]

logger = logging.getLogger(__name__)

NUMERIC_FEATURES = (
    "amount_minor",
    "n_items",
    "n_installments",
    "hour_of_day",
    "customer_tenure_days",
)
CATEGORICAL_FEATURES = ("plan_type", "segment", "home_region", "email_domain", "merchant_category")

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class DecisionPolicy:
    """Decline above either decline threshold, review above the fraud review threshold, else approve."""

    fraud_decline: float = 0.5
    fraud_review: float = 0.2
    default_decline: float = 0.35


def checkout_features(tables: Mapping[str, pa.Table]) -> pd.DataFrame:
    """Model inputs of each checkout, from the checkouts, customers and merchants tables.

    Returns checkout_id, customer_id, merchant_id, created_at, currency and the
    columns named in :data:`NUMERIC_FEATURES` and :data:`CATEGORICAL_FEATURES`.
    """
    for name in ("checkouts", "customers", "merchants"):
        if name not in tables:
            raise SchemaError(
                f"simulated decision log needs the {name!r} table; run `cartwise simulate` first"
            )
    checkouts = (
        tables["checkouts"]
        .select(
            [
                "checkout_id",
                "customer_id",
                "merchant_id",
                "created_at",
                "amount_minor",
                "currency",
                "n_items",
                "n_installments",
                "plan_type",
            ]
        )
        .to_pandas()
    )
    customers = tables["customers"].select(
        ["customer_id", "created_at", "segment", "home_region", "email_domain"]
    )
    customers_df = customers.to_pandas().rename(columns={"created_at": "customer_created_at"})
    merchants = tables["merchants"].select(["merchant_id", "category"]).to_pandas()
    frame = checkouts.merge(customers_df, on="customer_id", how="left").merge(
        merchants.rename(columns={"category": "merchant_category"}), on="merchant_id", how="left"
    )
    frame = frame.sort_values(["created_at", "checkout_id"], kind="stable").reset_index(drop=True)
    created = pd.to_datetime(frame["created_at"], utc=True)
    frame["hour_of_day"] = created.dt.hour.astype("float64")
    tenure = (created - pd.to_datetime(frame["customer_created_at"], utc=True)) / _DAY
    frame["customer_tenure_days"] = tenure.clip(lower=0).astype("float64")
    for col in ("amount_minor", "n_items", "n_installments"):
        frame[col] = frame[col].astype("float64")
    for col in CATEGORICAL_FEATURES:
        frame[col] = frame[col].astype("string").fillna("unknown")
    out: pd.DataFrame = frame.drop(columns=["customer_created_at"])
    return out


def _model(seed: int) -> object:
    prep = ColumnTransformer(
        [
            ("num", StandardScaler(), list(NUMERIC_FEATURES)),
            ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), list(CATEGORICAL_FEATURES)),
        ]
    )
    return make_pipeline(prep, LogisticRegression(max_iter=500, C=1.0, random_state=seed))


def _fit_score(
    frame: pd.DataFrame, train: np.ndarray, labels: np.ndarray, seed: int, what: str
) -> np.ndarray:
    x = frame[list(NUMERIC_FEATURES) + list(CATEGORICAL_FEATURES)]
    y = labels[train]
    if y.size == 0:
        raise SchemaError(
            f"the reference window holds no {what} labels known yet; "
            "use a longer reference window or simulate more days"
        )
    if y.min() == y.max():
        raise SchemaError(
            f"the reference window holds no {'positive' if y.max() == 0 else 'negative'} {what} labels; "
            "use a longer reference window or a larger simulation"
        )
    model = _model(seed)
    model.fit(x[train], y)  # type: ignore[attr-defined]
    return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)  # type: ignore[attr-defined]


def _feature_maps(frame: pd.DataFrame) -> tuple[pa.Array, pa.Array]:
    n = len(frame)

    def build(names: tuple[str, ...], values: np.ndarray, item_type: pa.DataType) -> pa.Array:
        k = len(names)
        offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
        keys = pa.array(np.tile(np.array(names, dtype=object), n), pa.string())
        items = pa.array(values.reshape(-1), item_type)
        return pa.MapArray.from_arrays(offsets, keys, items)

    numeric = frame[list(NUMERIC_FEATURES)].to_numpy(dtype=np.float64)
    categorical = frame[list(CATEGORICAL_FEATURES)].astype(object).to_numpy()
    return build(NUMERIC_FEATURES, numeric, pa.float64()), build(
        CATEGORICAL_FEATURES, categorical, pa.string()
    )


def decision_log_from_simulation(
    tables: Mapping[str, pa.Table],
    *,
    reference_days: int = 42,
    policy: DecisionPolicy | None = None,
    seed: int = 42,
) -> pa.Table:
    """Score simulated checkouts with reference-window models and log the decisions."""
    policy = policy or DecisionPolicy()
    for name in ("chargebacks", "credit_outcomes"):
        if name not in tables:
            raise SchemaError(
                f"simulated decision log needs the {name!r} table; run `cartwise simulate` first"
            )
    frame = checkout_features(tables)
    if frame.empty:
        raise SchemaError("the checkouts table is empty; simulate some days first")
    created = pd.to_datetime(frame["created_at"], utc=True)
    start = created.min().floor("D")
    train = (created < start + reference_days * _DAY).to_numpy()
    if not train.any():
        raise SchemaError(f"no checkouts in the first {reference_days} days; lower reference_days")
    fraud_ids = set(tables["chargebacks"].column("checkout_id").to_pylist())
    fraud = frame["checkout_id"].isin(fraud_ids).to_numpy().astype(np.int64)
    outcomes = tables["credit_outcomes"].select(["checkout_id", "defaulted"]).to_pandas()
    defaulted = frame["checkout_id"].map(outcomes.set_index("checkout_id")["defaulted"])
    credit_known = defaulted.notna().to_numpy()
    fraud_score = _fit_score(frame, train, fraud, seed, "fraud")
    default_labels = defaulted.fillna(False).astype(bool).to_numpy().astype(np.int64)
    default_probability = _fit_score(frame, train & credit_known, default_labels, seed, "default")
    outcome = np.where(
        (fraud_score >= policy.fraud_decline) | (default_probability >= policy.default_decline),
        "decline",
        np.where(fraud_score >= policy.fraud_review, "review", "approve"),
    )
    rng = np.random.default_rng(seed)
    decision_ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(len(frame))]
    numeric_map, categorical_map = _feature_maps(frame)
    n = len(frame)
    table = pa.table(
        {
            "decision_id": pa.array(decision_ids, pa.string()),
            "checkout_id": pa.array(frame["checkout_id"].to_numpy(dtype=np.int64)),
            "customer_id": pa.array(frame["customer_id"].to_numpy(dtype=np.int64)),
            "merchant_id": pa.array(frame["merchant_id"].to_numpy(dtype=np.int64)),
            # decided a few milliseconds after the order was placed
            "decided_at": pa.array(
                (created + pd.Timedelta(milliseconds=5)).dt.tz_convert(None).to_numpy("datetime64[us]")
            ).cast(DECISION_LOG_SCHEMA.field("decided_at").type),
            "amount_minor": pa.array(frame["amount_minor"].to_numpy(dtype=np.int64)),
            "currency": pa.array(frame["currency"].astype(str).to_numpy(dtype=object), pa.string()),
            "outcome": pa.array(outcome.astype(object), pa.string()),
            "fraud_score": pa.array(fraud_score),
            "default_probability": pa.array(default_probability),
            "fraud_model_version": pa.array(["reference-lr"] * n, pa.string()),
            "credit_model_version": pa.array(["reference-lr"] * n, pa.string()),
            "degraded": pa.array(np.zeros(n, dtype=bool)),
            "degraded_reason": pa.nulls(n, pa.string()),
            "latency_ms": pa.array(np.zeros(n)),
            "numeric_features": numeric_map,
            "categorical_features": categorical_map,
        }
    )
    logger.info(
        "simulated decision log: %d decisions, approval rate %.3f", n, float((outcome == "approve").mean())
    )
    return validate_decision_log(table)
