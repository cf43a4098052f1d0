"""Bootstrap the online store from the warehouse: every entity's state as of a time, in bulk."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import duckdb
import numpy as np

from cartwise.data.warehouse import Warehouse
from cartwise.errors import FeatureError
from cartwise.features.definitions import FeatureSet
from cartwise.features.online.plan import KNOWN, TS, ViewPlan
from cartwise.features.online.state import ViewState
from cartwise.features.online.store import OnlineStore
from cartwise.features.online.updates import ViewRows
from cartwise.streaming.events import to_micros
from cartwise.streaming.replay import known_rows_sql

__all__ = ["MaterializeResult", "materialize"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaterializeResult:
    """What :func:`materialize` wrote."""

    as_of_us: int
    rows: int
    states: int
    seconds: float


def _view_sql(view: ViewPlan, as_of_us: int) -> str:
    inner = view.select_sql(version=str(as_of_us))
    conditions = ["TRUE"]
    if view.retention_us is not None:
        # rows no window can reach from as_of on stay out (labels: by the later of the two times)
        floor = as_of_us - view.retention_us
        last = f'GREATEST("{TS}", "{KNOWN}")' if view.label else f'"{TS}"'
        conditions.append(f"{last} >= {floor}")
    return f"SELECT * FROM ({inner}) WHERE {' AND '.join(conditions)}"


def _states(view: ViewPlan, rows: ViewRows) -> dict[tuple[object, ...], ViewState]:
    out: dict[tuple[object, ...], ViewState] = {}
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, key in enumerate(rows.keys):
        groups.setdefault(key, []).append(i)
    for key, index in groups.items():
        state = ViewState.empty(view)
        state.merge(rows.rows[np.asarray(index, dtype=np.intp)])
        out[key] = state
    return out


def materialize(
    warehouse: Warehouse,
    store: OnlineStore,
    feature_set: FeatureSet | None = None,
    as_of: dt.datetime | int | None = None,
    *,
    replace: bool = True,
) -> MaterializeResult:
    """Load into ``store`` the state every entity has at ``as_of`` (default: now).

    The rows are read from the warehouse and their per-row values computed by
    the same SQL as the stream processor's, in DuckDB. ``replace`` first clears
    the feature set's keys. The store's watermark becomes ``as_of``, so a stream
    processor started afterwards treats events older than ``as_of`` minus the
    allowed lateness as already applied.
    """
    started = time.perf_counter()
    if feature_set is not None and feature_set.version != store.feature_set.version:
        raise FeatureError(
            f"feature set {feature_set.name} (version {feature_set.version}) is not the one the online store "
            f"serves ({store.feature_set.name}, version {store.feature_set.version}); build the store with it"
        )
    as_of_us = to_micros(as_of if as_of is not None else dt.datetime.now(dt.UTC))
    plan = store.plan
    needed = sorted(set(plan.tables) | set(plan.lookup_tables))
    con = duckdb.connect(":memory:", config={"threads": 2})
    try:
        held = {t for t in needed if warehouse.has_table(t)}
        if "installments" in held and "checkouts" not in held and warehouse.has_table("checkouts"):
            held.add("checkouts")  # installments are known from their order on
        for table in sorted(held):
            con.register(f"__all_{table}", warehouse.read_table(table))
        for table in sorted(held):
            # each table as the stream had told it before as_of: the rows a replay up to as_of applies
            sql = known_rows_sql(table, as_of_us, lambda name: f"__all_{name}")
            con.execute(f"CREATE TEMP VIEW {table} AS {sql}")
        for table in needed:
            if table not in held:
                logger.warning("warehouse has no table %s: its feature views start empty", table)
        if replace:
            store.clear()
        total_rows = total_states = 0
        for view in plan.views:
            if any(not warehouse.has_table(t) for t in {view.source_table, *view.lookup_tables}):
                continue
            result = con.sql(_view_sql(view, as_of_us)).to_arrow_table()
            rows = ViewRows.from_arrow(view, result)
            states = _states(view, rows)
            ttl = store.ttl_ms(view)
            store.write_bulk(
                {store.key(view, key): (state.encode(view), ttl) for key, state in states.items()}
            )
            total_rows += len(rows)
            total_states += len(states)
            logger.info("materialised view %s: %d rows into %d states", view.name, len(rows), len(states))
        store.write({}, {"watermark": str(as_of_us).encode()})
    finally:
        con.close()
    return MaterializeResult(as_of_us, total_rows, total_states, time.perf_counter() - started)
