"""Apply source rows to online states: read, merge by row id, evict, write — one batch at a time.

Used by the stream processor (rows of a micro-batch of events) and by
:func:`~cartwise.features.online.materialize.materialize` (rows from the
warehouse). A batch is read in one round trip and written atomically together
with the new watermark, so the store never holds states from half a batch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from cartwise.features.online.plan import ID, KNOWN, TS, VERSION, ViewPlan
from cartwise.features.online.state import ViewState
from cartwise.features.online.store import OnlineStore

__all__ = ["ApplyResult", "ViewRows", "apply_rows", "encode_states"]

logger = logging.getLogger(__name__)

Matrix = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ViewRows:
    """Rows of one feature view in the state layout, with each row's entity key."""

    plan: ViewPlan
    keys: list[tuple[object, ...]]
    rows: Matrix

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def from_arrow(
        cls, plan: ViewPlan, table: pa.Table, columns: Mapping[str, str] | None = None
    ) -> ViewRows:
        """Rows from a SELECT of :meth:`ViewPlan.columns` (``columns`` maps each name to its alias)."""

        def col(name: str) -> pa.ChunkedArray:
            return table.column(columns[name] if columns else name)

        if columns and "__ok" in columns:
            table = table.filter(pc.fill_null(col("__ok"), False))
        n_keys = len(plan.key_columns)
        key_cols = [col(f"__key{i}").to_pylist() for i in range(n_keys)]
        keys: list[tuple[object, ...]] = (
            list(zip(*key_cols, strict=True)) if n_keys > 1 else [(k,) for k in key_cols[0]]
        )
        parts = [_int64(col(TS)), _int64(col(ID)), _int64(col(VERSION))]
        if plan.label:
            parts.append(_int64(col(KNOWN)))
        for i, hashed in enumerate(plan.hashed):
            column = col(f"__v{i}")
            if hashed:
                parts.append(
                    np.asarray(column.cast(pa.uint64()).fill_null(0).to_numpy(), np.uint64).view(np.int64)
                )
            else:
                values = np.asarray(column.cast(pa.float64()).fill_null(np.nan).to_numpy(), np.float64)
                parts.append(values.view(np.int64))
        rows = np.column_stack(parts) if parts[0].shape[0] else np.empty((0, len(parts)), np.int64)
        return cls(plan, keys, np.ascontiguousarray(rows, dtype=np.int64))


def _int64(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    if column.null_count:
        column = pc.fill_null(column, 0)
    return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)


@dataclass(frozen=True)
class ApplyResult:
    """What one batch did to the store."""

    rows: int
    added: int
    states: int

    @property
    def duplicates(self) -> int:
        return self.rows - self.added


def group_rows(keys: list[tuple[object, ...]]) -> dict[tuple[object, ...], list[int]]:
    """Row positions per entity key, in first-seen order."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return groups


def encode_states(
    store: OnlineStore, batches: list[ViewRows], watermark_us: int | None
) -> tuple[dict[str, tuple[bytes, int | None]], ApplyResult]:
    """Merge ``batches`` into the states held by ``store``; returns what to write and counts."""
    grouped = [(rows, group_rows(rows.keys)) for rows in batches if len(rows)]
    store_keys: list[str] = []
    for rows, groups in grouped:
        store_keys.extend(store.key(rows.plan, key) for key in groups)
    held = store.read(store_keys)
    out: dict[str, tuple[bytes, int | None]] = {}
    added = total = 0
    position = 0
    for rows, groups in grouped:
        plan = rows.plan
        ttl = store.ttl_ms(plan)
        cutoff = (
            None if plan.retention_us is None or watermark_us is None else watermark_us - plan.retention_us
        )
        matrix = rows.rows
        for index in groups.values():
            store_key = store_keys[position]
            data = held[position]
            position += 1
            state = ViewState.empty(plan) if data is None else ViewState.decode(data, plan)
            new = matrix[index[0] : index[0] + 1] if len(index) == 1 else matrix[index]
            got = state.merge(new)
            total += len(index)
            added += got
            if cutoff is not None:
                state.evict(cutoff, plan.label)
            if got or data is None:
                out[store_key] = (state.encode(plan), ttl)
    return out, ApplyResult(rows=total, added=added, states=len(out))


def apply_rows(
    store: OnlineStore,
    batches: list[ViewRows],
    watermark_us: int | None,
    meta: Mapping[str, bytes] | None = None,
) -> ApplyResult:
    """Merge ``batches`` into ``store`` and write them, with ``watermark_us``, in one atomic write."""
    states, result = encode_states(store, batches, watermark_us)
    all_meta = dict(meta or {})
    if watermark_us is not None:
        all_meta["watermark"] = str(watermark_us).encode()
    store.write(states, all_meta)
    return result
