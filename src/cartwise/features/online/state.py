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

import struct
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from cartwise.errors import OnlineStoreError
from cartwise.features.online.expressions import HELPERS, expression_columns, python_source
from cartwise.features.online.plan import ViewPlan

__all__ = ["Reader", "ViewState", "compile_reader", "compute_features", "row_width"]

_HEADER = struct.Struct("<BBHI")  # format, has-known flag, width, rows
_FORMAT = 3
TS, ID, VER, KNOWN = 0, 1, 2, 3

Matrix = npt.NDArray[np.int64]
Reader = Callable[[memoryview, int], dict[str, float | None]]
"""``(rows, at_us) -> features`` of one view, compiled from its plan (:func:`compile_reader`);
``rows`` is the bytes of the state's row-major ``int64`` matrix."""


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


def compute_features(plan: ViewPlan, state: ViewState | None, at_us: int) -> dict[str, float | None]:
    """Every aggregation feature of ``plan`` at request time ``at_us`` from ``state``."""
    if state is None or not len(state):
        return dict(plan.empty_features)
    return plan.reader(np.ascontiguousarray(state.rows).data.cast("B"), at_us)


def features_from_bytes(plan: ViewPlan, data: bytes, at_us: int) -> dict[str, float | None]:
    """:func:`compute_features` straight from a stored state's bytes (no intermediate array)."""
    version, has_known, width, n = _HEADER.unpack_from(data)
    if version != _FORMAT or bool(has_known) != plan.label or width != row_width(plan):
        ViewState.decode(data, plan)  # raises, naming the view and the fix
    if not n:
        return dict(plan.empty_features)
    return plan.reader(memoryview(data)[_HEADER.size : _HEADER.size + 8 * n * width], at_us)


def compile_reader(plan: ViewPlan) -> Reader:
    """A function ``(rows, at_us) -> features`` with every aggregation of ``plan`` written out.

    States are small (the rows of one entity), so the reader works on Python
    lists, converting each stored column once: a numpy call per feature would
    cost more than the arithmetic. Generating straight-line code for the view
    (one bisect per window, one list per window and column, one expression per
    feature, one dict literal) removes the per-feature interpretation that
    would otherwise dominate a read. The semantics are those of the offline
    SQL: windows ``t - w <= ts < t``, labels only once ``known_at < t``, NULLs
    skipped by every function, counts 0 and other functions NULL (or the
    feature's default) on an empty window.
    """
    env: dict[str, Any] = {
        "bisect_left": bisect_left,
        "_aggregate": _aggregate,
        **HELPERS,
    }
    # Rows before the longest window are never looked at: only rows[b:hi] become lists, and the
    # window bounds lo{j} are turned into positions in that slice.
    windows: dict[int | None, int] = {}
    for agg in plan.aggregations:
        windows.setdefault(agg.window_us, len(windows))
    width = row_width(plan)
    # Columns are read straight from the bytes as strided memoryviews: int64 ("q") for times,
    # float64 ("d") for values, uint64 ("Q") for hashes; column c of rows b..hi-1 is
    # view[b * width + c : hi * width : width].
    body: list[str] = ["q = rows.cast('q')", "d = rows.cast('d')", "u = rows.cast('Q')"]
    body += [f"ts = q[0::{width}].tolist()", "hi = bisect_left(ts, at_us)"]
    for w, j in windows.items():
        body.append(f"lo{j} = 0" if w is None else f"lo{j} = bisect_left(ts, at_us - {int(w)}, 0, hi)")
    body.append(
        "b = " + (f"min({', '.join(f'lo{j}' for j in windows.values())})" if len(windows) > 1 else "lo0")
    )
    body.append(f"s0_ = b * {width}")
    body.append(f"e0_ = hi * {width}")
    body.append("h = hi - b")
    for j in windows.values():
        body.append(f"lo{j} -= b")
    if plan.label:
        body.append(f"known = q[s0_ + {KNOWN}:e0_:{width}].tolist()")
        for j in windows.values():
            body.append(f"pk{j} = [i for i in range(lo{j}, h) if known[i] < at_us]")
    columns: set[int] = set()
    present: set[tuple[int, int]] = set()
    raws: set[int] = set()
    values: list[str] = []
    offset = value_offset(plan)
    has_expression = any(a.expression_sql is not None for a in plan.aggregations)

    def column(k: int) -> None:
        if k not in columns:
            columns.add(k)
            body.append(f"c{k} = {'u' if plan.hashed[k] else 'd'}[s0_ + {offset + k}:e0_:{width}].tolist()")
            # any NULL in the column: a 0 hash, or a NaN (which makes the sum NaN; an inf - inf
            # false alarm only costs the filtering)
            body.append(f"z{k} = 0 in c{k}" if plan.hashed[k] else f"s{k} = sum(c{k}); z{k} = s{k} != s{k}")

    def raw_column(k: int) -> None:
        if k not in raws:
            raws.add(k)
            body.append(f"r{k} = [None if v != v else v for v in d[s0_ + {offset + k}:e0_:{width}].tolist()]")

    def present_list(j: int, k: int) -> str:
        name = f"p{k}_{j}"
        if (j, k) not in present:
            present.add((j, k))
            rows_of = f"c{k}[lo{j}:]" if not plan.label else f"[c{k}[i] for i in pk{j}]"
            keep = "v != 0" if plan.hashed[k] else "v == v"
            body.append(f"{name} = [v for v in {rows_of} if {keep}] if z{k} else {rows_of}")
        return name

    for i, agg in enumerate(plan.aggregations):
        j = windows[agg.window_us]
        n = f"len(pk{j})" if plan.label else f"(h - lo{j})"
        if agg.expression_sql is not None:
            used = sorted(expression_columns(agg.expression_sql) - {"feature_time"})
            for name in used:
                raw_column(plan.raw_columns[name])
            source = python_source(agg.expression_sql, lambda name: f"q{plan.raw_columns[name]}")
            rows_of = [
                f"r{plan.raw_columns[n]}[lo{j}:]"
                if not plan.label
                else f"[r{plan.raw_columns[n]}[i] for i in pk{j}]"
                for n in used
            ]
            targets = "".join(f"q{plan.raw_columns[n]}, " for n in used)
            body.append(f"x{i} = [{source} for ({targets}) in zip({', '.join(rows_of)})]")
            value = f"_aggregate({agg.function!r}, [v for v in x{i} if v is not None and v == v])"
        elif agg.value is None:
            value = f"float({n})"
        elif agg.function == "last":
            column(agg.value)
            k = agg.value
            picked = (
                f"c{k}[pk{j}[-1]] if pk{j} else None" if plan.label else f"c{k}[h - 1] if h > lo{j} else None"
            )
            body.append(f"l{i} = {picked}")
            value = f"(None if l{i} is None or l{i} != l{i} else float(l{i}))"
        else:
            column(agg.value)
            p = present_list(j, agg.value)
            value = {
                "count": f"float(len({p}))",
                "count_distinct": f"float(len(set({p})))",
                "sum": f"(float(sum({p})) if {p} else None)",
                "mean": f"(float(sum({p})) / len({p}) if {p} else None)",
                "min": f"(float(min({p})) if {p} else None)",
                "max": f"(float(max({p})) if {p} else None)",
            }.get(agg.function, f"_aggregate({agg.function!r}, {p})")  # unknown: _aggregate names it
        if agg.default is not None:
            env[f"d{i}"] = agg.default
            body.append(f"v{i} = {value}")
            value = f"(d{i} if v{i} is None else v{i})"
        values.append(f"{agg.feature!r}: {value}")
    if has_expression:
        body.insert(0, "t = float(at_us)")
    source = "def read(rows, at_us):\n" + "".join(f"    {line}\n" for line in body)
    source += "    return {" + ", ".join(values) + "}\n"
    exec(compile(source, f"<online reader {plan.name}>", "exec"), env)
    return env["read"]  # type: ignore[no-any-return]
