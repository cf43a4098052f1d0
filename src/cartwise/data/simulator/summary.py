"""What a warehouse holds, in the figures people check first: rows, fraud, defaults, label delays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from cartwise.data.warehouse import Warehouse
from cartwise.domain.schemas import TABLES

__all__ = ["DataSummary", "summarize"]

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class DataSummary:
    """Headline figures of the marketplace tables in a warehouse (labels as known at the end)."""

    rows: dict[str, int]
    """Rows per table of the data model that the warehouse holds."""
    first_checkout_at: dt.datetime | None
    last_checkout_at: dt.datetime | None
    fraud_rate: float
    """Reported chargebacks per checkout."""
    fraud_rate_by_type: dict[str, float] = field(default_factory=dict)
    default_rate: float = float("nan")
    """Defaulted share of the resolved credit outcomes."""
    resolved_outcomes: int = 0
    label_delay_days: tuple[float, float, float] | None = None
    """Chargeback reporting delay after the order: (min, median, max) days."""
    drift_day: dt.date | None = None
    """First day of the simulated drift, when known."""
    fraud_rate_before_drift: float | None = None
    fraud_rate_after_drift: float | None = None
    """Reported fraud rates of orders placed before / from the drift day."""


def summarize(warehouse: Warehouse, *, drift_start: dt.datetime | None = None) -> DataSummary:
    """Summarise the cartwise tables in ``warehouse`` (missing tables count as empty)."""
    held = set(warehouse.table_names())
    rows = {name: warehouse.row_count(name) for name in TABLES if name in held}
    checkouts = rows.get("checkouts", 0)
    first = last = None
    if checkouts:
        span = warehouse.query("SELECT min(created_at) AS first, max(created_at) AS last FROM checkouts")
        first, last = span.column("first")[0].as_py(), span.column("last")[0].as_py()

    by_type: dict[str, float] = {}
    delays = None
    before = after = None
    if rows.get("chargebacks") and checkouts:
        counts = warehouse.query(
            "SELECT fraud_type, count(*) AS n FROM chargebacks GROUP BY fraud_type ORDER BY 1"
        )
        by_type = {
            str(t): int(n) / checkouts
            for t, n in zip(
                counts.column("fraud_type").to_pylist(), counts.column("n").to_pylist(), strict=True
            )
        }
        times = warehouse.read_table("chargebacks", columns=["order_created_at", "reported_at"])
        created = times.column("order_created_at").cast("int64").to_numpy()
        reported = times.column("reported_at").cast("int64").to_numpy()
        days = (reported - created) / DAY_US
        delays = (float(days.min()), float(np.median(days)), float(days.max()))
        if drift_start is not None:
            before, after = _rates_around(warehouse, drift_start)
    default_rate = float("nan")
    resolved = rows.get("credit_outcomes", 0)
    if resolved:
        result = warehouse.query(
            "SELECT avg(CASE WHEN defaulted THEN 1.0 ELSE 0.0 END) AS rate FROM credit_outcomes"
        )
        default_rate = float(result.column("rate")[0].as_py())
    return DataSummary(
        rows=rows,
        first_checkout_at=first,
        last_checkout_at=last,
        fraud_rate=sum(by_type.values()),
        fraud_rate_by_type=by_type,
        default_rate=default_rate,
        resolved_outcomes=resolved,
        label_delay_days=delays,
        drift_day=drift_start.date() if drift_start is not None else None,
        fraud_rate_before_drift=before,
        fraud_rate_after_drift=after,
    )


def _rates_around(warehouse: Warehouse, moment: dt.datetime) -> tuple[float | None, float | None]:
    stamp = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    result = warehouse.query(
        "SELECT c.created_at >= TIMESTAMPTZ '" + stamp + "+00' AS after_drift, count(*) AS n, "
        "count(b.checkout_id) AS fraud "
        "FROM checkouts AS c LEFT JOIN chargebacks AS b ON b.checkout_id = c.checkout_id GROUP BY 1"
    )
    rates: dict[bool, float] = {}
    for flag, n, fraud in zip(
        *(result.column(c).to_pylist() for c in ("after_drift", "n", "fraud")), strict=True
    ):
        rates[bool(flag)] = int(fraud) / int(n) if n else 0.0
    return rates.get(False), rates.get(True)
