"""The decision log: one row per checkout decision, written by the decision service.

Monitoring reads it from the warehouse table :data:`DECISION_LOG_TABLE`. The
service writes exactly :data:`DECISION_LOG_SCHEMA`. Model inputs travel as two
maps (numeric and categorical) so a new feature needs no schema change;
:func:`feature_columns` turns them back into one column per feature, vectorised.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cartwise.domain.schemas import TIMESTAMP
from cartwise.errors import SchemaError

__all__ = [
    "DECISION_LOG_SCHEMA",
    "DECISION_LOG_TABLE",
    "MODEL_SCORES",
    "OUTCOMES",
    "feature_columns",
    "validate_decision_log",
]

logger = logging.getLogger(__name__)

DECISION_LOG_TABLE = "decision_log"

OUTCOMES = ("approve", "review", "decline")

MODEL_SCORES: dict[str, str] = {"fraud": "fraud_score", "credit": "default_probability"}
"""Model name → decision-log column holding its calibrated probability."""

DECISION_LOG_SCHEMA = pa.schema(
    [
        pa.field("decision_id", pa.string(), nullable=False),
        pa.field("checkout_id", pa.int64(), nullable=False),
        pa.field("customer_id", pa.int64(), nullable=False),
        pa.field("merchant_id", pa.int64(), nullable=False),
        pa.field("decided_at", TIMESTAMP, nullable=False),
        pa.field("amount_minor", pa.int64(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("fraud_score", pa.float64(), nullable=False),
        pa.field("default_probability", pa.float64(), nullable=False),
        pa.field("fraud_model_version", pa.string(), nullable=False),
        pa.field("credit_model_version", pa.string(), nullable=False),
        pa.field("degraded", pa.bool_(), nullable=False),
        pa.field("degraded_reason", pa.string(), nullable=True),
        pa.field("latency_ms", pa.float64(), nullable=False),
        pa.field("numeric_features", pa.map_(pa.string(), pa.float64()), nullable=True),
        pa.field("categorical_features", pa.map_(pa.string(), pa.string()), nullable=True),
    ]
)
"""Columns of the decision log. ``outcome`` is one of :data:`OUTCOMES`; scores are calibrated probabilities."""


def validate_decision_log(table: pa.Table) -> pa.Table:
    """Check a decision log against :data:`DECISION_LOG_SCHEMA`; return it cast to that schema."""
    missing = [f.name for f in DECISION_LOG_SCHEMA if f.name not in table.column_names]
    if missing:
        raise SchemaError(
            f"decision log lacks columns {missing}; it must have the columns of "
            "cartwise.monitoring.decision_log.DECISION_LOG_SCHEMA"
        )
    table = table.select(DECISION_LOG_SCHEMA.names)
    try:
        table = table.cast(DECISION_LOG_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise SchemaError(
            f"decision log columns have the wrong types ({exc}); expected {DECISION_LOG_SCHEMA}"
        ) from exc
    for f in DECISION_LOG_SCHEMA:
        if not f.nullable and table.column(f.name).null_count:
            raise SchemaError(
                f"decision log column {f.name!r} has {table.column(f.name).null_count} missing values"
            )
    bad = pc.invert(pc.is_in(table.column("outcome"), value_set=pa.array(OUTCOMES)))
    n_bad = pc.sum(bad).as_py() or 0
    if n_bad:
        first = table.column("outcome").filter(bad)[0].as_py()
        raise SchemaError(
            f"decision log has {n_bad} rows with outcome {first!r}; outcomes are {', '.join(OUTCOMES)}"
        )
    for score in MODEL_SCORES.values():
        col = table.column(score)
        lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
        if lo is not None and (lo < 0 or hi > 1):
            raise SchemaError(
                f"decision log column {score!r} must hold probabilities in [0, 1], found {lo}..{hi}"
            )
    return table


def _entries(arr: pa.MapArray) -> pa.StructArray:
    return pa.StructArray.from_arrays([arr.keys, arr.items], names=["key", "value"])


def _pivot_map(column: pa.ChunkedArray, names: Sequence[str] | None) -> dict[str, pa.Array]:
    arr = column.combine_chunks()
    n = len(arr)
    # a map is a list of struct<key, value>: view it as such to flatten it
    arr = pa.ListArray.from_arrays(arr.offsets, _entries(arr), mask=arr.is_null())
    entries = pc.list_flatten(arr)
    row_of = np.asarray(pc.list_parent_indices(arr).to_numpy(zero_copy_only=False), dtype=np.int64)
    keys = entries.field("key")
    values = entries.field("value")
    if names is None:
        names = sorted(str(k) for k in pc.unique(keys).to_pylist())
    out: dict[str, pa.Array] = {}
    for name in names:
        idx = np.flatnonzero(np.asarray(pc.equal(keys, name).to_numpy(zero_copy_only=False), dtype=bool))
        positions = np.full(n, -1, dtype=np.int64)
        positions[row_of[idx]] = idx
        out[name] = values.take(pa.array(positions, mask=positions < 0))
    return out


def feature_columns(
    table: pa.Table, numeric: Sequence[str] | None = None, categorical: Sequence[str] | None = None
) -> pa.Table:
    """One column per model input, from the log's feature maps (missing entries are null).

    ``numeric``/``categorical`` name the features to take (default: every key present).
    """
    for col in ("numeric_features", "categorical_features"):
        if col not in table.column_names:
            raise SchemaError(f"decision log lacks {col!r}; it must follow DECISION_LOG_SCHEMA")
    num = _pivot_map(table.column("numeric_features"), numeric)
    cat = _pivot_map(table.column("categorical_features"), categorical)
    clash = set(num) & set(cat)
    if clash:
        raise SchemaError(
            f"features {sorted(clash)} appear both as numeric and categorical in the decision log"
        )
    return pa.table({**num, **cat})
