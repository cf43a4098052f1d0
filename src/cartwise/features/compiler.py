"""Compile a feature set into one point-in-time SQL query (DuckDB dialect).

The query reads a spine table (``__row``, the entity join keys, ``feature_time``)
and returns one row per spine row, ordered by ``__row``, with one column per
aggregation feature. It is written once and carried to PostgreSQL and Spark by
:func:`cartwise.features.sql.to_dialect`.

Three exact strategies, picked per aggregation, so that no feature needs its own
range join:

``window``
    One pass per (source, entity keys): the spine rows and the source events
    are stacked, sorted by entity and time, and every windowed ``count``/
    ``sum``/``mean``/``min``/``max`` is a window function over a RANGE frame
    holding exactly the events with ``t - w <= ts < t`` (see
    :func:`_window_clause`). ``count_distinct`` counts runs of a value's
    events (gaps at most ``w``) started before ``t`` minus those whose last
    event is older than ``t - w``. ``last`` takes the running maximum of
    earlier event times and joins the value of the event at that instant.
``interval``
    For label-delayed sources: each event becomes an
    interval of feature times ``(a, b]`` during which it counts
    (``a = max(ts, known_at)``, ``b = ts + w``; for a distinct count ``a`` is
    moved past ``p + w`` where ``p`` is the previous event with the same value,
    so each value counts once). The feature is a running sum of ``+x`` at ``a``
    and ``-x`` at ``b`` over strictly earlier instants.
``join``
    For expressions that read ``feature_time`` (e.g. "unpaid at t"): a
    point-in-time join of spine rows with the entity's events in the largest
    window, grouped by spine row. Also available for everything as a slow
    reference (``strategy="join"``) that tests compare the fast path against.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from cartwise.features.definitions import (
    FEATURE_TIME,
    Feature,
    FeatureSet,
    FeatureView,
)

__all__ = ["SPINE_TABLE_COLUMNS", "CompiledQuery", "compile_training_query"]

logger = logging.getLogger(__name__)

SPINE_TABLE_COLUMNS = ("__row", FEATURE_TIME)
"""Columns every spine table has besides the entity join keys."""

_BIG = 9_000_000_000_000_000_000  # an instant after any real microsecond timestamp


@dataclass(frozen=True)
class CompiledQuery:
    """The SQL of a training frame and the features it returns, in order."""

    sql: str
    features: tuple[Feature, ...]


def _q(name: str) -> str:
    return f'"{name}"'


def _source_sql(view: FeatureView) -> str:
    src = view.source
    if src.query is not None:
        return f"({src.query})"
    return src.table


def _value_expr(feature: Feature) -> str:
    """The per-event value an aggregation reads (NULL when the row does not count)."""
    agg = feature.aggregation
    value = "1" if agg.column is None else f"({agg.column})"
    if agg.where:
        return f"CASE WHEN ({agg.where}) THEN {value} END"
    return value


def _window_clause(partition: str, window_us: int | None) -> str:
    """The OVER clause of a windowed aggregate, read at spine rows.

    Rows are ordered by ``__o = 2 * __t + __kind`` (spine rows have ``__kind`` 0,
    events 1), so every frame shares one sort and a spine row at ``t`` sorts
    before events at ``t``. An event with ``t - w <= ts < t`` has
    ``2t - 2w + 1 <= __o <= 2t - 1``: the frame ``RANGE BETWEEN 2w - 1 PRECEDING
    AND 1 PRECEDING`` of the spine row (``__o = 2t``).
    """
    if window_us is None:
        return f"OVER (PARTITION BY {partition} ORDER BY __o ROWS UNBOUNDED PRECEDING)"
    return f"OVER (PARTITION BY {partition} ORDER BY __o RANGE BETWEEN {2 * window_us - 1} PRECEDING AND 1 PRECEDING)"


def _strategy(feature: Feature, mode: str) -> str:
    if mode == "join" or feature.uses_feature_time:
        return "join"
    if feature.label_delayed:
        return "interval"
    return "window"


@dataclass(frozen=True)
class _Part:
    """One CTE producing (``__row``, features...) for some features of one view."""

    cte: str
    name: str
    columns: tuple[str, ...]


class _Compiler:
    def __init__(
        self, feature_set: FeatureSet, spine_table: str, mode: str, bounds: tuple[int, int] | None
    ) -> None:
        self.feature_set = feature_set
        self.spine_table = spine_table
        self.mode = mode
        self.bounds = bounds
        self.ctes: list[str] = []
        self.parts: list[_Part] = []
        self.counter = 0

    def _name(self, stem: str) -> str:
        self.counter += 1
        return f"__{stem}{self.counter}"

    def _neighbours(self, stem: str, source: str, part: str, columns: dict[str, str]) -> str:
        """A CTE over ``source`` adding, per value column (-> suffix ``j``), the times of the
        previous and next events with the same value (``__p{j}``, ``__n{j}``); returns its name."""
        name = self._name(stem)
        neighbours = []
        for column, j in columns.items():
            spec = f"OVER (PARTITION BY {part}, {column} ORDER BY __t, __tie)"
            neighbours.append(f"LAG(__t) {spec} AS __p{j}, LEAD(__t) {spec} AS __n{j}")
        self.ctes.append(f"{name} AS (SELECT *, {', '.join(neighbours)} FROM {source})")
        return name

    def _spine_keys(self, view: FeatureView) -> list[str]:
        return [_q(k) for k in view.join_keys]

    def _events(
        self, view: FeatureView, features: Sequence[Feature], max_window: int | None
    ) -> tuple[str, list[str]]:
        """CTE of the view's events: keys (named like the spine), __t, __k, __tie and one value column per feature."""
        src = view.source
        name = self._name("ev")
        cols = [f"{_q(sk)} AS {_q(jk)}" for sk, jk in zip(view.keys, view.join_keys, strict=True)]
        cols.append(f"EPOCH_US({_q(src.timestamp_column)}) AS __t")
        if src.known_at_column is not None:
            cols.append(f"EPOCH_US({_q(src.known_at_column)}) AS __k")
        tie = src.tie_breaker
        cols.append(f"{_q(tie)} AS __tie" if tie else "0 AS __tie")
        value_cols = []
        by_expr: dict[str, str] = {}  # features reading the same value share its column
        for f in features:
            expr = _value_expr(f)
            if expr not in by_expr:
                by_expr[expr] = f"__v{len(by_expr)}"
                cols.append(f"{expr} AS {by_expr[expr]}")
            value_cols.append(by_expr[expr])
        where = [f"{_q(src.timestamp_column)} IS NOT NULL"] + [f"{_q(k)} IS NOT NULL" for k in view.keys]
        if src.known_at_column is not None:
            where.append(f"{_q(src.known_at_column)} IS NOT NULL")
        if self.bounds is not None:
            lo, hi = self.bounds
            where.append(f"EPOCH_US({_q(src.timestamp_column)}) < {hi}")
            if max_window is not None:
                where.append(f"EPOCH_US({_q(src.timestamp_column)}) >= {lo - max_window}")
        self.ctes.append(
            f"{name} AS (SELECT {', '.join(cols)} FROM {_source_sql(view)} AS __src WHERE {' AND '.join(where)})"
        )
        return name, value_cols

    # -- window strategy ---------------------------------------------------
    def window(self, view: FeatureView, features: Sequence[Feature]) -> None:
        max_w = _max_window(features)
        ev, vals = self._events(view, features, max_w)
        keys = self._spine_keys(view)
        part = ", ".join(keys)
        # event columns the union carries: the values, and for distinct counts the run flags
        carried: list[tuple[str, str]] = []
        distinct: dict[str, str] = {}  # value column -> suffix of its neighbour columns
        for i, f in enumerate(features):
            if f.function == "last":
                continue  # read from the events after the pass
            if f.function != "count_distinct":
                carried.append((vals[i], vals[i]))
                continue
            j = distinct.setdefault(vals[i], str(len(distinct)))
            v = vals[i]
            # a value's events whose gaps are at most w form a run; the value is in the window
            # of t iff a run started before t and did not end (last event + w) before t
            w = f.window_us
            if w is None:
                carried.append((f"__s{j}_all", f"CASE WHEN {v} IS NOT NULL AND __p{j} IS NULL THEN 1 END"))
            else:
                carried.append(
                    (
                        f"__s{j}_{w}",
                        f"CASE WHEN {v} IS NOT NULL AND (__p{j} IS NULL OR __t - __p{j} > {w}) THEN 1 END",
                    )
                )
                carried.append(
                    (
                        f"__e{j}_{w}",
                        f"CASE WHEN {v} IS NOT NULL AND (__n{j} IS NULL OR __n{j} - __t > {w}) THEN 1 END",
                    )
                )
        carried = list(dict.fromkeys(carried))
        events = ev
        if distinct:
            # neighbours are found among the (few) events only, before the spine joins them
            ev = self._neighbours("wd", ev, part, distinct)
        union = self._name("un")
        # events first so that the union takes its column types from them
        spine_nulls = "".join(f", NULL AS {c}" for c, _ in carried)
        ev_vals = "".join(f", {e} AS {c}" if e != c else f", {c}" for c, e in carried)
        self.ctes.append(
            f"{union} AS ("
            f"SELECT {', '.join(keys)}, __t, 2 * __t + 1 AS __o, 1 AS __kind, CAST(NULL AS BIGINT) AS __row, __tie"
            f"{ev_vals} FROM {ev} "
            f"UNION ALL SELECT {', '.join(keys)}, __t, 2 * __t AS __o, 0 AS __kind, __row, NULL AS __tie"
            f"{spine_nulls} FROM __spine)"
        )
        aggregates: dict[str, str] = {}  # window expression -> its column; equal ones are computed once

        def agg(sql: str) -> str:
            return aggregates.setdefault(sql, f"__a{len(aggregates)}")

        needs_last = any(f.function == "last" for f in features)
        inner = self._name("wi")
        outputs: list[tuple[Feature, str]] = []  # feature and its value over the columns of the pass
        for i, f in enumerate(features):
            frame = _window_clause(part, f.window_us)
            v = vals[i]
            if f.function == "count":
                outputs.append((f, agg(f"COUNT({v}) {frame}")))
            elif f.function == "sum":
                outputs.append((f, agg(f"SUM({v}) {frame}")))
            elif f.function == "mean":
                total, n = agg(f"SUM({v}) {frame}"), agg(f"COUNT({v}) {frame}")
                outputs.append((f, f"CAST({total} AS DOUBLE) / NULLIF({n}, 0)"))
            elif f.function in ("min", "max"):
                outputs.append((f, agg(f"{f.function.upper()}({v}) {frame}")))
            elif f.function == "count_distinct":
                j, w = distinct[v], f.window_us
                # at a spine row every earlier row of the sort is an event before t (no event
                # shares its __o), so a streaming ROWS frame counts the runs started before t
                started = f"OVER (PARTITION BY {part} ORDER BY __o ROWS UNBOUNDED PRECEDING)"
                if w is None:
                    outputs.append((f, agg(f"COUNT(__s{j}_all) {started}")))
                else:
                    # a run whose last event e has e + w < t ended: __o(e) = 2e + 1 <= 2t - 2w - 1
                    ended = f"OVER (PARTITION BY {part} ORDER BY __o RANGE BETWEEN UNBOUNDED PRECEDING AND {2 * w + 1} PRECEDING)"
                    n_started = agg(f"COUNT(__s{j}_{w}) {started}")
                    n_ended = agg(f"COUNT(__e{j}_{w}) {ended}")
                    outputs.append((f, f"{n_started} - {n_ended}"))
            else:  # last: the value of the latest earlier event, found below
                cond = "__lt IS NOT NULL" if f.window_us is None else f"__lt >= __t - {f.window_us}"
                outputs.append((f, f"CASE WHEN {cond} THEN __l{v} END"))
        if needs_last:
            # the latest event before t: the running max of event times (earlier rows of the
            # sort), then its value from the events, the largest tie-breaker winning an instant
            agg(
                f"MAX(CASE WHEN __kind = 1 THEN __t END) OVER (PARTITION BY {part} ORDER BY __o ROWS UNBOUNDED PRECEDING)"
            )
        exprs = [f"{sql} AS {column}" for sql, column in aggregates.items()]
        self.ctes.append(
            f"{inner} AS (SELECT {', '.join([*keys, '__t', '__kind', '__row'])}, "
            f"{', '.join(exprs) if exprs else '0 AS __none'} FROM {union})"
        )
        source = inner
        if needs_last:
            last_t = aggregates[next(sql for sql in aggregates if sql.startswith("MAX(CASE WHEN __kind = 1"))]
            last_vals = list(dict.fromkeys(vals[i] for i, f in enumerate(features) if f.function == "last"))
            lk = [f"__lk{n}" for n in range(len(keys))]
            ranked = self._name("wr")
            self.ctes.append(
                f"{ranked} AS (SELECT {', '.join(f'{k} AS {a}' for k, a in zip(keys, lk, strict=True))}, "
                f"__t AS __lt, {', '.join(f'{v} AS __l{v}' for v in last_vals)}, ROW_NUMBER() OVER "
                f"(PARTITION BY {part}, __t ORDER BY __tie DESC NULLS FIRST) AS __rank FROM {events})"
            )
            on = " AND ".join(f"{ranked}.{a} = {inner}.{k}" for k, a in zip(keys, lk, strict=True))
            second = self._name("wl")
            self.ctes.append(
                f"{second} AS (SELECT {inner}.*, {ranked}.__lt, "
                f"{', '.join(f'{ranked}.__l{v}' for v in last_vals)} FROM {inner} LEFT JOIN {ranked} "
                f"ON {on} AND {ranked}.__lt = {inner}.{last_t} AND {ranked}.__rank = 1 WHERE {inner}.__kind = 0)"
            )
            source = second
        selects = [f"{sql} AS {_q(f.name)}" for f, sql in outputs]
        out_cols = [f.name for f, _ in outputs]
        name = self._name("pw")
        self.ctes.append(f"{name} AS (SELECT __row, {', '.join(selects)} FROM {source} WHERE __kind = 0)")
        self.parts.append(_Part(name, name, tuple(out_cols)))

    # -- interval strategy -------------------------------------------------
    def interval(self, view: FeatureView, features: Sequence[Feature]) -> None:
        max_w = _max_window(features)
        ev, vals = self._events(view, features, max_w)
        keys = self._spine_keys(view)
        part = ", ".join(keys)
        label = view.source.known_at_column is not None
        enter_at = "GREATEST(__t, __k)" if label else "__t"
        # distinct counts: the events of one value whose gaps are at most w form a run, and the
        # value is in the window of every t in (first event, last event + w] of a run, so a run
        # needs one +1 (at its first event) and one -1 (w after its last event)
        distinct_cols: dict[str, str] = {}
        for f in features:
            if f.function == "count_distinct":
                expr = _value_expr(f)
                if expr not in distinct_cols:
                    distinct_cols[expr] = str(len(distinct_cols))
        table = ev
        if distinct_cols:
            columns = {vals[self._first(features, expr)]: j for expr, j in distinct_cols.items()}
            table = self._neighbours("ld", ev, part, columns)

        deltas: list[str] = []
        enter: dict[str, str] = {}
        leaves: dict[str, dict[str, str]] = {}  # leave-time expression -> {delta column: value}
        runs: list[tuple[str, str, str]] = []  # (delta column, time, condition) of distinct-count rows
        for i, f in enumerate(features):
            v = vals[i]
            present = f"CASE WHEN {v} IS NOT NULL THEN 1 ELSE 0 END"
            if f.function == "count_distinct":
                j = distinct_cols[_value_expr(f)]
                d = f"__d{i}n"
                deltas.append(d)
                if f.window_us is None:
                    runs.append((d, "__t", f"{v} IS NOT NULL AND __p{j} IS NULL"))
                else:
                    w = f.window_us
                    runs.append((d, "__t", f"{v} IS NOT NULL AND (__p{j} IS NULL OR __t - __p{j} > {w})"))
                    runs.append(
                        (d, f"__t + {w}", f"{v} IS NOT NULL AND (__n{j} IS NULL OR __n{j} - __t > {w})")
                    )
                continue
            leave = None if f.window_us is None else f"__t + {f.window_us}"
            parts = {}
            if f.function in ("sum", "mean"):
                parts[f"__d{i}s"] = f"COALESCE({v}, 0)"
            if f.function in ("count", "mean"):
                parts[f"__d{i}n"] = present
            for d, value in parts.items():
                deltas.append(d)
                if leave is None:
                    enter[d] = value
                    continue
                # an interval that closes before it opens (known only after the window) never counts
                enter[d] = f"CASE WHEN {leave} > {enter_at} THEN {value} ELSE 0 END"
                leaves.setdefault(leave, {})[d] = f"CASE WHEN {leave} > {enter_at} THEN -{value} ELSE 0 END"
        rows = []
        if enter:
            rows.append(self._delta_select(keys, enter_at, enter, deltas, table, None))
        for d, at, cond in runs:
            sign = "-1" if at != "__t" else "1"
            rows.append(self._delta_select(keys, at, {d: sign}, deltas, table, cond))
        for leave, cols in leaves.items():
            rows.append(self._delta_select(keys, leave, cols, deltas, table, f"{leave} IS NOT NULL"))
        spine_cols = ", ".join(f"0 AS {d}" for d in deltas)
        rows.append(f"SELECT {part}, __t, 0 AS __kind, __row, {spine_cols} FROM __spine")
        union = self._name("iu")
        self.ctes.append(f"{union} AS ({' UNION ALL '.join(rows)})")
        # spine rows sort before deltas at the same instant, so a running sum over ROWS sees
        # exactly the deltas at earlier instants (ROWS frames stream; RANGE frames search)
        sums = ", ".join(
            f"SUM({d}) OVER (PARTITION BY {part} ORDER BY __t, __kind ROWS UNBOUNDED PRECEDING) AS {d}"
            for d in deltas
        )
        inner = self._name("ir")
        self.ctes.append(f"{inner} AS (SELECT __row, __kind, {sums} FROM {union})")
        selects = []
        for i, f in enumerate(features):
            col = _q(f.name)
            if f.function == "sum":
                selects.append(f"COALESCE(__d{i}s, 0) AS {col}")
            elif f.function == "mean":
                selects.append(f"CAST(__d{i}s AS DOUBLE) / NULLIF(__d{i}n, 0) AS {col}")
            else:
                selects.append(f"COALESCE(__d{i}n, 0) AS {col}")
        name = self._name("pi")
        self.ctes.append(f"{name} AS (SELECT __row, {', '.join(selects)} FROM {inner} WHERE __kind = 0)")
        self.parts.append(_Part(name, name, tuple(f.name for f in features)))

    @staticmethod
    def _first(features: Sequence[Feature], expr: str) -> int:
        return next(i for i, f in enumerate(features) if _value_expr(f) == expr)

    @staticmethod
    def _delta_select(
        keys: list[str], at: str, cols: dict[str, str], order: list[str], table: str, cond: str | None
    ) -> str:
        values = ", ".join(f"{cols.get(d, '0')} AS {d}" for d in order)
        where = f" WHERE {cond}" if cond else ""
        return (
            f"SELECT {', '.join(keys)}, {at} AS __t, 1 AS __kind, CAST(NULL AS BIGINT) AS __row, {values} "
            f"FROM {table}{where}"
        )

    # -- join strategy -----------------------------------------------------
    def join(self, view: FeatureView, features: Sequence[Feature]) -> None:
        src = view.source
        max_w = _max_window(features)
        spine = self._name("js")
        skeys = [f"__sk{i}" for i in range(len(view.join_keys))]
        self.ctes.append(
            f"{spine} AS (SELECT __row, __t, {FEATURE_TIME}, "
            + ", ".join(f"{_q(k)} AS {sk}" for k, sk in zip(view.join_keys, skeys, strict=True))
            + " FROM __spine)"
        )
        ts = f"EPOCH_US(__src.{_q(src.timestamp_column)})"
        on = [f"__src.{_q(k)} = {spine}.{sk}" for k, sk in zip(view.keys, skeys, strict=True)]
        on.append(f"{ts} < {spine}.__t")
        if max_w is not None:
            on.append(f"{ts} >= {spine}.__t - {max_w}")
        if src.known_at_column is not None:
            on.append(f"EPOCH_US(__src.{_q(src.known_at_column)}) < {spine}.__t")
        aggs = []
        for f in features:
            value = _value_expr(f)
            if f.window_us is not None:
                value = f"CASE WHEN {ts} >= {spine}.__t - {f.window_us} THEN {value} END"
            col = _q(f.name)
            if f.function == "count":
                aggs.append(f"COUNT({value}) AS {col}")
            elif f.function == "count_distinct":
                aggs.append(f"COUNT(DISTINCT {value}) AS {col}")
            elif f.function == "sum":
                aggs.append(f"SUM({value}) AS {col}")
            elif f.function == "mean":
                aggs.append(f"CAST(SUM({value}) AS DOUBLE) / NULLIF(COUNT({value}), 0) AS {col}")
            elif f.function in ("min", "max"):
                aggs.append(f"{f.function.upper()}({value}) AS {col}")
            else:  # compile() routes last to the window strategy
                raise NotImplementedError("last is not available in the join strategy")
        name = self._name("pj")
        self.ctes.append(
            f"{name} AS (SELECT {spine}.__row, {', '.join(aggs)} FROM {spine} "
            f"JOIN {_source_sql(view)} AS __src ON {' AND '.join(on)} GROUP BY {spine}.__row)"
        )
        self.parts.append(_Part(name, name, tuple(f.name for f in features)))

    # -- assembly ----------------------------------------------------------
    def compile(self, features: Sequence[Feature]) -> CompiledQuery:
        keys = ", ".join(_q(k) for k in self.feature_set.join_keys)
        self.ctes.append(
            f"__spine AS (SELECT __row, {keys}{', ' if keys else ''}{FEATURE_TIME}, EPOCH_US({FEATURE_TIME}) AS __t "
            f"FROM {self.spine_table})"
        )
        wanted = {f.name for f in features}
        # views over the same source and keys share one pass (one sort of spine + events)
        passes: dict[tuple[object, ...], tuple[FeatureView, dict[str, list[Feature]]]] = {}
        for view in self.feature_set.views:
            key = (view.source, view.keys, view.join_keys)
            _, groups = passes.setdefault(key, (view, {"window": [], "interval": [], "join": []}))
            for f in view.features:
                if f.name not in wanted:
                    continue
                strategy = _strategy(f, self.mode)
                if strategy == "join" and f.function == "last":
                    strategy = "window"  # the reference path computes last like the fast path
                groups[strategy].append(f)
        for view, groups in passes.values():
            if groups["window"]:
                self.window(view, groups["window"])
            if groups["interval"]:
                self.interval(view, groups["interval"])
            if groups["join"]:
                self.join(view, groups["join"])
        col_sql: dict[str, str] = {}
        joins = []
        by_name = {f.name: f for f in features}
        for part in self.parts:
            joins.append(f"LEFT JOIN {part.cte} ON {part.cte}.__row = __spine.__row")
            for col in part.columns:
                f = by_name[col]
                ref = f"{part.cte}.{_q(col)}"
                sql_type = "BIGINT" if f.dtype == "int64" else "DOUBLE"
                value = f"CAST({ref} AS {sql_type})"
                if f.default is not None:
                    default = int(f.default) if f.dtype == "int64" else float(f.default)
                    value = f"COALESCE({value}, CAST({default} AS {sql_type}))"
                col_sql[col] = f"{value} AS {_q(col)}"
        # keep the caller's feature order in the output
        ordered = [f for f in features if f.name in col_sql]
        final_cols = ["__spine.__row AS __row"] + [col_sql[f.name] for f in ordered]
        sql = (
            "WITH "
            + ",\n".join(self.ctes)
            + f"\nSELECT {', '.join(final_cols)} FROM __spine {' '.join(joins)} ORDER BY __spine.__row"
        )
        return CompiledQuery(sql=sql, features=tuple(ordered))


def _max_window(features: Sequence[Feature]) -> int | None:
    if any(f.window_us is None for f in features):
        return None
    return max(f.window_us for f in features if f.window_us is not None)


def compile_training_query(
    feature_set: FeatureSet,
    *,
    spine_table: str,
    features: Sequence[Feature] | None = None,
    strategy: str = "fast",
    bounds: tuple[int, int] | None = None,
) -> CompiledQuery:
    """The point-in-time SQL (DuckDB dialect) for ``features`` of ``feature_set``.

    ``spine_table`` must hold ``__row``, the set's join keys and
    ``feature_time``. ``bounds`` (min and max+1 of the spine's microsecond
    timestamps) lets the query skip events no spine row can see. ``strategy``
    is ``"fast"`` or ``"join"`` (the reference point-in-time join).
    """
    if strategy not in ("fast", "join"):
        raise ValueError(f"strategy must be 'fast' or 'join', not {strategy!r}")
    chosen = list(feature_set.features if features is None else features)
    return _Compiler(feature_set, spine_table, strategy, bounds).compile(chosen)
