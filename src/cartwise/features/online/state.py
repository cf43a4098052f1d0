"""The online state of one entity in one feature view: its recent source rows, as one matrix.

Rows are kept sorted by (event time, id). A row is identified by its id and
carries a version (the time of the event that wrote it): applying the same
version twice changes nothing, and a newer version of a row (an installment
that got paid) replaces the older one whatever order they arrive in. Features
are computed from the state at read time for the request time ``t``, with the
windows of the definitions: ``t - w <= ts < t`` and, for a label source,
``known_at < t``.

Layout: one row-major ``int64`` matrix, columns ``ts, id, version, [known_at],
values...``; value columns hold the bits of a ``float64`` (NaN for NULL) or a
``uint64`` hash (0 for NULL) for distinct counts. Encoding is a 4-byte row
count and the matrix bytes; decoding is zero-copy.
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cartwise.errors import OnlineStoreError
from cartwise.features.online.plan import AggregationPlan, ViewPlan

__all__ = ["ViewState", "compute_features", "row_width"]

_HEADER = struct.Struct("<BBHI")  # format, has-known flag, width, rows
_FORMAT = 3
TS, ID, VER, KNOWN = 0, 1, 2, 3

Matrix = npt.NDArray[np.int64]


def row_width(plan: ViewPlan) -> int:
    """Columns of a state row of ``plan``."""
    return 3 + (1 if plan.label else 0) + len(plan.value_sql)


def value_offset(plan: ViewPlan) -> int:
    return 4 if plan.label else 3


@dataclass
class ViewState:
    """Rows of one (view, entity key), sorted by (ts, id)."""

    rows: Matrix

    @classmethod
    def empty(cls, plan: ViewPlan) -> ViewState:
        return cls(np.empty((0, row_width(plan)), np.int64))

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    # -- updates -----------------------------------------------------------
    def merge(self, new: Matrix) -> int:
        """Add rows (or newer versions of held rows); returns how many rows changed."""
        held = self.rows
        n_held = held.shape[0]
        new_ids = new[:, ID].tolist()
        fresh_ids = set(new_ids)
        if len(fresh_ids) == len(new_ids) and (not n_held or fresh_ids.isdisjoint(held[:, ID].tolist())):
            # only rows never seen: append, and sort only when they do not already follow in order
            both = np.concatenate((held, new))
            ts = both[:, TS]
            if len(ts) > 1 and not bool((ts[1:] >= ts[:-1]).all()):
                both = both[np.lexsort((both[:, ID], ts))]
            elif len(ts) > 1:
                ties = ts[1:] == ts[:-1]
                if ties.any() and bool((both[1:, ID][ties] < both[:-1, ID][ties]).any()):
                    both = both[np.lexsort((both[:, ID], ts))]
            self.rows = both
            return len(new_ids)
        both = np.concatenate((held, new))
        ids = both[:, ID]
        is_new = np.arange(both.shape[0]) >= n_held
        # per id the newest version wins; on a tie the row already held stays
        order = np.lexsort((is_new, -both[:, VER], ids))
        sorted_ids = ids[order]
        first = np.ones(len(order), bool)
        first[1:] = sorted_ids[1:] != sorted_ids[:-1]
        winners = order[first]
        changed = int(np.count_nonzero(winners >= n_held))
        if not changed:
            return 0
        kept = both[winners]
        self.rows = kept[np.lexsort((kept[:, ID], kept[:, TS]))]
        return changed

    def evict(self, cutoff_us: int, label: bool) -> int:
        """Drop rows that no request at or after ``cutoff_us`` + the longest window can see."""
        rows = self.rows
        if not rows.shape[0] or int(rows[0, TS]) >= cutoff_us:  # sorted by ts: nothing is that old
            return 0
        last = np.maximum(rows[:, TS], rows[:, KNOWN]) if label else rows[:, TS]
        keep = last >= cutoff_us
        dropped = int(rows.shape[0]) - int(keep.sum())
        if dropped:
            self.rows = rows[keep]
        return dropped

    # -- bytes -------------------------------------------------------------
    def encode(self, plan: ViewPlan) -> bytes:
        rows = self.rows
        return _HEADER.pack(_FORMAT, plan.label, rows.shape[1], rows.shape[0]) + rows.tobytes()

    @classmethod
    def decode(cls, data: bytes, plan: ViewPlan) -> ViewState:
        version, has_known, width, n = _HEADER.unpack_from(data)
        if version != _FORMAT or bool(has_known) != plan.label or width != row_width(plan):
            raise OnlineStoreError(
                f"online state of view {plan.name} was written by another definition or format "
                f"(format {version}, {width} columns); run `cartwise features materialize` again"
            )
        rows = np.frombuffer(data, dtype=np.int64, count=n * width, offset=_HEADER.size).reshape(n, width)
        return cls(rows)


def _aggregate(function: str, present: list[float]) -> float | None:
    """SQL semantics over the non-NULL values: counts are 0 and the rest NULL when there is none."""
    if function == "count":
        return float(len(present))
    if function == "count_distinct":
        return float(len(set(present)))
    if not present:
        return None
    if function == "sum":
        return float(sum(present))
    if function == "mean":
        return float(sum(present)) / len(present)
    if function == "min":
        return float(min(present))
    if function == "max":
        return float(max(present))
    raise OnlineStoreError(f"aggregation function {function!r} is not supported online")


def _column(plan: ViewPlan, rows: Matrix, index: int) -> npt.NDArray[np.generic]:
    bits = rows[:, value_offset(plan) + index]
    return bits.view(np.uint64) if plan.hashed[index] else bits.view(np.float64)


def _read_time_values(
    plan: ViewPlan,
    agg: AggregationPlan,
    rows_all: Matrix,
    positions: range | list[int],
    at_us: int,
    row_cache: dict[int, dict[str, float | None]],
) -> list[float]:
    """``agg``'s expression on each row at ``positions``; rows (as dicts) are shared across aggregations."""
    assert agg.expression is not None
    missing = [i for i in positions if i not in row_cache]
    if missing:
        names = list(plan.raw_columns)
        columns = [_column(plan, rows_all, plan.raw_columns[name]).tolist() for name in names]
        for i in missing:
            row_cache[i] = {
                name: (None if col[i] != col[i] else col[i]) for name, col in zip(names, columns, strict=True)
            }
    expression = agg.expression
    t = float(at_us)
    out: list[float] = []
    for i in positions:
        value = expression(row_cache[i], t)
        out.append(math.nan if value is None else value)
    return out


def compute_features(plan: ViewPlan, state: ViewState | None, at_us: int) -> dict[str, float | None]:
    """Every aggregation feature of ``plan`` at request time ``at_us`` from ``state``.

    States are small (the rows of one entity), so this works on Python lists,
    converting each stored column once: a numpy call per feature would cost
    more than the arithmetic.
    """
    if state is None or not len(state):
        return dict(plan.empty_features)
    rows_all = state.rows
    ts = rows_all[:, TS].tolist()
    hi = bisect_left(ts, at_us)
    known = rows_all[:, KNOWN].tolist() if plan.label else None
    columns: dict[int, tuple[list[float], bool]] = {}  # values, and whether any is NULL
    windows: dict[int | None, tuple[int, int, list[int] | None]] = {}
    present_cache: dict[tuple[int | None, int], list[float]] = {}
    row_cache: dict[int, dict[str, float | None]] = {}
    out: dict[str, float | None] = {}
    for agg in plan.aggregations:
        window = windows.get(agg.window_us)
        if window is None:
            lo = 0 if agg.window_us is None else bisect_left(ts, at_us - agg.window_us, 0, hi)
            picked = None if known is None else [i for i in range(lo, hi) if known[i] < at_us]
            window = windows[agg.window_us] = (lo, hi, picked)
        lo, hi_, picked = window
        n = (hi_ - lo) if picked is None else len(picked)
        value: float | None
        if agg.expression is not None:
            positions = range(lo, hi_) if picked is None else picked
            computed = _read_time_values(plan, agg, rows_all, positions, at_us, row_cache)
            value = _aggregate(agg.function, [v for v in computed if v == v])
        elif agg.value is None:
            value = float(n)
        else:
            column = columns.get(agg.value)
            if column is None:
                array = _column(plan, rows_all, agg.value)
                nulls = bool((array == 0).any()) if plan.hashed[agg.value] else bool(np.isnan(array).any())
                column = columns[agg.value] = (array.tolist(), nulls)
            values, has_null = column
            if agg.function == "last":
                # the latest row in the window, whatever its value (NULL included), as the offline SQL
                last = values[picked[-1] if picked is not None else hi_ - 1] if n else None
                value = None if last is None or last != last else float(last)
            else:
                key = (agg.window_us, agg.value)
                present = present_cache.get(key)
                if present is None:
                    present = values[lo:hi_] if picked is None else [values[i] for i in picked]
                    if has_null:
                        hashed = plan.hashed[agg.value]
                        present = [v for v in present if v != 0] if hashed else [v for v in present if v == v]
                    present_cache[key] = present
                value = _aggregate(agg.function, present)
        out[agg.feature] = agg.default if value is None else value
    return out
