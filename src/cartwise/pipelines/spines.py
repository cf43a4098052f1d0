"""Training spines from the warehouse and the out-of-time split every model kind shares.

Labels arrive late (chargebacks 5–90 days after the order, defaults at 60 days past
due), so the newest orders' labels are not yet known. The split therefore works back
from the data's end (``as_of``): orders newer than ``label_maturity_days`` are left
out, the ``holdout_days`` before that are the out-of-time holdout, and a
``gap_days`` gap separates the holdout from training — the protocol of the Fraud
Detection Handbook (train, delay, test).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cartwise.data.warehouse import Warehouse
from cartwise.domain.schemas import table_spec
from cartwise.errors import TrainingDataError
from cartwise.pipelines.base import require_rows, require_table_schema

__all__ = ["OutOfTimeSplit", "read_checkouts", "window_end"]


def _same_type(expected: pa.DataType) -> object:
    def accepts(actual: pa.DataType) -> bool:
        if pa.types.is_timestamp(expected):
            return bool(pa.types.is_timestamp(actual))
        if pa.types.is_integer(expected):
            return bool(pa.types.is_integer(actual))
        if pa.types.is_floating(expected):
            return bool(pa.types.is_floating(actual) or pa.types.is_integer(actual))
        if pa.types.is_string(expected) or pa.types.is_large_string(expected):
            return bool(pa.types.is_string(actual) or pa.types.is_large_string(actual))
        return bool(actual == expected)

    accepts.__name__ = f"is_{expected}"
    return accepts


def read_table_checked(warehouse: Warehouse, name: str, columns: list[str]) -> pa.Table:
    """Read ``columns`` of a data-model table, failing clearly when a column is missing or mistyped."""
    schema = table_spec(name).schema
    table = warehouse.read_table(name)
    require_table_schema(table, {c: _same_type(schema.field(c).type) for c in columns}, name)  # type: ignore[misc]
    return table.select(columns)


def read_checkouts(
    warehouse: Warehouse, columns: list[str], start: datetime | None, end: datetime | None
) -> pa.Table:
    """Checkouts created in [start, end), oldest first; TrainingDataError when the window is empty."""
    table = read_table_checked(warehouse, "checkouts", columns)
    ts = table["created_at"]
    if start is not None:
        table = table.filter(pc.greater_equal(ts, pa.scalar(start, ts.type)))
        ts = table["created_at"]
    if end is not None:
        table = table.filter(pc.less(ts, pa.scalar(end, ts.type)))
    require_rows(table, "checkouts", start, end)
    return table.sort_by([("created_at", "ascending"), ("checkout_id", "ascending")])


def window_end(table: pa.Table, column: str, end: datetime | None) -> datetime:
    """The instant labels are known up to: ``end`` if given, else just after the newest row."""
    if end is not None:
        return end
    newest = pc.max(table[column]).as_py()
    return newest + timedelta(microseconds=1)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class OutOfTimeSplit:
    """Train | gap | holdout | (labels not yet mature), counted back from ``as_of``."""

    holdout_days: int = 21
    gap_days: int = 7
    label_maturity_days: int = 30

    def bounds(self, as_of: datetime) -> tuple[datetime, datetime, datetime]:
        """(train end, holdout start, holdout end)."""
        holdout_end = as_of - timedelta(days=self.label_maturity_days)
        holdout_start = holdout_end - timedelta(days=self.holdout_days)
        return holdout_start - timedelta(days=self.gap_days), holdout_start, holdout_end

    def split(
        self, frame: pd.DataFrame, time_column: str, as_of: datetime
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        train_end, holdout_start, holdout_end = self.bounds(as_of)
        times = pd.to_datetime(frame[time_column], utc=True)
        train = frame[times < train_end].reset_index(drop=True)
        holdout = frame[(times >= holdout_start) & (times < holdout_end)].reset_index(drop=True)
        if len(train) == 0 or len(holdout) == 0:
            raise TrainingDataError(
                f"the out-of-time split leaves {len(train)} training and {len(holdout)} holdout rows: training "
                f"before {train_end:%Y-%m-%d}, holdout {holdout_start:%Y-%m-%d}..{holdout_end:%Y-%m-%d} "
                f"({self.label_maturity_days} days of label maturity before {as_of:%Y-%m-%d}); "
                "use more days of data or a wider --start/--end window"
            )
        return train, holdout


def require_both_classes(labels: pd.Series, what: str) -> None:
    """A classifier needs positives and negatives in each frame."""
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise TrainingDataError(
            f"{what} has {positives} positive labels out of {len(labels)}; it needs both classes — "
            "use more data (more customers or days) or a wider window"
        )
