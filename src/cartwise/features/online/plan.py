"""How a feature view is kept online: which per-row values to store and how to aggregate them.

A view's online state is, per entity key, the source rows of the last
``retention`` (the longest window plus the allowed lateness): each row's event
time, known-at time (label sources), tie-breaker / id, and one value per
aggregation, computed by the same SQL expression the offline path uses.
Aggregations whose expression reads ``feature_time`` keep the columns it reads
instead, and evaluate it at read time (:mod:`.expressions`). From
those rows any window can be computed exactly for any request time ``t`` with
the definitions' semantics: ``t - w <= ts < t`` (and ``known_at < t`` for a label
source). Views with an ``"all"`` window keep every row.

The per-row SQL (``column`` and ``where`` of each aggregation) is evaluated by
DuckDB, both when the warehouse is materialised and on each micro-batch of
stream events, so the online values come from the same expressions, in the same
engine, as the offline ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from cartwise.domain.schemas import TABLES
from cartwise.errors import FeatureError
from cartwise.features.definitions import FEATURE_TIME, EventSource, Feature, FeatureSet, FeatureView
from cartwise.features.online.expressions import expression_columns, python_source
from cartwise.features.sql import referenced_tables

__all__ = [
    "AggregationPlan",
    "OnlinePlan",
    "SourceGroup",
    "ViewPlan",
    "build_plan",
    "source_relation",
    "state_key",
]

ID = "__id"
TS = "__ts"
KNOWN = "__known"
VERSION = "__ver"


@dataclass(frozen=True)
class AggregationPlan:
    """One feature: a function over one stored value column for one window."""

    feature: str
    function: str
    window_us: int | None
    value: int | None
    """Index of the stored value column; None for a plain row count."""
    default: float | None
    distinct_by_hash: bool
    expression_sql: str | None = None
    """For aggregations that read ``feature_time``: the per-row SQL, evaluated at read time on the
    stored raw columns (the online reader inlines it, see :mod:`.expressions`)."""


@dataclass(frozen=True)
class ViewPlan:
    """The stored columns and the aggregations of one feature view."""

    view: FeatureView
    value_sql: tuple[str, ...]
    hashed: tuple[bool, ...]
    """Value columns holding 64-bit hashes (count_distinct over non-numeric values)."""
    aggregations: tuple[AggregationPlan, ...]
    retention_us: int | None
    label: bool
    raw_columns: dict[str, int]
    """Source columns kept as-is (as float64 / µs) for read-time expressions, and their value index."""
    suffix: str = ""
    """``"__all"`` for the part of a view holding its ``"all"``-window aggregations."""

    @property
    def name(self) -> str:
        return self.view.name + self.suffix

    @cached_property
    def empty_features(self) -> dict[str, float | None]:
        """The features of an entity with no row: counts and sums 0, the rest NULL, or their defaults."""
        return {
            a.feature: a.default
            if a.default is not None
            else (0.0 if a.function in ("count", "count_distinct") else None)
            for a in self.aggregations
        }

    @cached_property
    def reader(self) -> Callable[[Any, int], dict[str, float | None]]:
        """Every aggregation of this view from its state rows at a request time (compiled once)."""
        from cartwise.features.online.state import compile_reader  # state builds on this module

        return compile_reader(self)

    @property
    def source_table(self) -> str:
        return self.view.source.table

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.view.keys

    @property
    def join_keys(self) -> tuple[str, ...]:
        return self.view.join_keys

    @property
    def lookup_tables(self) -> set[str]:
        """Tables the source query joins besides its main table."""
        src = self.view.source
        return set() if src.query is None else referenced_tables(src.query) - {src.table}

    def columns(self, version: str) -> list[tuple[str, str]]:
        """(name, SQL) of each stored column: keys, times, id, version, values."""
        src = self.view.source
        cols = [(f"__key{i}", k) for i, k in enumerate(self.key_columns)]
        cols.append((TS, f"EPOCH_US({src.timestamp_column})"))
        if src.known_at_column is not None:
            cols.append((KNOWN, f"EPOCH_US({src.known_at_column})"))
        cols.append((ID, f"CAST({src.tie_breaker} AS BIGINT)"))
        cols.append((VERSION, f"CAST({version} AS BIGINT)"))
        cols.extend((f"__v{i}", sql) for i, sql in enumerate(self.value_sql))
        return cols

    def condition(self) -> str:
        """Rows that count: keys and times present."""
        src = self.view.source
        nonnull = [f"{k} IS NOT NULL" for k in self.key_columns] + [f"{src.timestamp_column} IS NOT NULL"]
        if src.known_at_column is not None:
            nonnull.append(f"{src.known_at_column} IS NOT NULL")
        return " AND ".join(nonnull)

    def select_sql(self, relation: str | None = None, *, version: str) -> str:
        """SELECT over ``relation`` (default: the source table or query) of this view's stored columns.

        ``version`` is the SQL of each row's version: a column of the events or a constant.
        """
        relation = relation or source_relation(self.view.source)
        cols = ", ".join(f'{sql} AS "{name}"' for name, sql in self.columns(version))
        return f"SELECT {cols} FROM {relation} WHERE {self.condition()}"


def source_relation(
    src: EventSource, batch_relation: str | None = None, lookup: Callable[[str], str] | None = None
) -> str:
    """The FROM clause of a source: its table or query, optionally over a micro-batch.

    With ``batch_relation``, the source's table (or its query's main table)
    reads the batch and each other table of the query reads ``lookup(name)``;
    each row then also carries the batch's version column.
    """
    if src.query is None:
        return batch_relation or src.table
    if batch_relation is None:
        return f"({src.query}) AS __src"
    main = src.table
    main_ref = main
    to_lookup = lookup or (lambda name: name)

    def rename(node: exp.Expression) -> exp.Expression:
        nonlocal main_ref
        if isinstance(node, exp.Table):
            if node.name == main:
                main_ref = node.alias_or_name
                new = batch_relation
            else:
                new = to_lookup(node.name)
            return exp.Table(this=exp.to_identifier(new), alias=node.args.get("alias"))
        return node

    tree = sqlglot.parse_one(src.query, read="duckdb").transform(rename)
    if not isinstance(tree, exp.Select):
        raise FeatureError(f"source {src.name}: its query must be one SELECT to be kept online")
    tree = tree.select(f'{main_ref}."{VERSION}" AS "{VERSION}"')  # carry each event's version through
    return f"({tree.sql(dialect='duckdb')}) AS __src"


@dataclass(frozen=True)
class SourceGroup:
    """Views over the same source relation, computed by one SELECT per micro-batch."""

    source: EventSource
    views: tuple[ViewPlan, ...]

    def select(self, relation: str) -> tuple[str, list[dict[str, str]]]:
        """One SELECT of every view's columns over ``relation``, and per view its columns' aliases.

        Each view also gets an alias of a boolean column saying which rows it keeps (``"__ok"``).
        """
        aliases: dict[str, str] = {}
        per_view: list[dict[str, str]] = []
        for view in self.views:
            mapping: dict[str, str] = {}
            for name, sql in [*view.columns(VERSION), ("__ok", view.condition())]:
                if sql not in aliases:
                    aliases[sql] = f"__c{len(aliases)}"
                mapping[name] = aliases[sql]
            per_view.append(mapping)
        cols = ", ".join(f'{sql} AS "{alias}"' for sql, alias in aliases.items())
        return f"SELECT {cols} FROM {relation}", per_view


@dataclass(frozen=True)
class OnlinePlan:
    """The online plan of a whole feature set."""

    feature_set: FeatureSet
    views: tuple[ViewPlan, ...]
    lateness_us: int

    def views_of_table(self, table: str) -> list[ViewPlan]:
        return [v for v in self.views if v.source_table == table]

    @property
    def tables(self) -> list[str]:
        return sorted({v.source_table for v in self.views})

    @property
    def lookup_tables(self) -> list[str]:
        """Tables joined by source queries, which the stream processor keeps a copy of."""
        return sorted({t for v in self.views for t in v.lookup_tables})

    def source_groups(self, table: str) -> list[SourceGroup]:
        """The views over ``table``, grouped by source relation (one SELECT each)."""
        groups: dict[tuple[str, str | None], list[ViewPlan]] = {}
        sources: dict[tuple[str, str | None], EventSource] = {}
        for view in self.views_of_table(table):
            src = view.view.source
            key = (src.table, src.query)
            groups.setdefault(key, []).append(view)
            sources.setdefault(key, src)
        return [SourceGroup(sources[k], tuple(v)) for k, v in groups.items()]

    @property
    def feature_names(self) -> list[str]:
        return [a.feature for v in self.views for a in v.aggregations]


def _value_sql(feature: Feature) -> tuple[str | None, bool]:
    agg = feature.aggregation
    if agg.column is None:
        if agg.where is None:
            return None, False
        expr = "1"
    else:
        expr = f"({agg.column})"
    hashed = False
    if feature.function == "count_distinct":
        # distinct values of any type, compared by a 64-bit hash of their text; 0 stands for NULL
        expr = f"CASE WHEN {expr} IS NULL THEN 0 ELSE greatest(hash(CAST({expr} AS VARCHAR)), 1) END"
        hashed = True
    else:
        expr = f"CAST({expr} AS DOUBLE)"
    if agg.where is not None:
        # a row the filter drops holds NULL (0 for a hash), which every function skips
        expr = f"CASE WHEN ({agg.where}) THEN {expr} ELSE {'0' if hashed else 'NULL'} END"
    return expr, hashed


def _column_type(column: str, tables: set[str]) -> pa.DataType | None:
    for table in sorted(tables):
        spec = TABLES.get(table)
        if spec is not None and column in spec.schema.names:
            return spec.schema.field(column).type
    return None


def _raw_column_sql(column: str, source_tables: set[str]) -> str:
    type_ = _column_type(column, source_tables)
    if type_ is not None and pa.types.is_timestamp(type_):
        return f"CAST(EPOCH_US({column}) AS DOUBLE)"
    return f"CAST({column} AS DOUBLE)"


def _read_time_expression(feature: Feature, owner: str) -> tuple[str, set[str]]:
    agg = feature.aggregation
    value = "1" if agg.column is None else f"({agg.column})"
    sql = f"CASE WHEN ({agg.where}) THEN {value} END" if agg.where else value
    return sql, expression_columns(sql) - {FEATURE_TIME}


def _column_index(value_sql: list[str], hashed: list[bool], sql: str, is_hash: bool) -> int:
    """Position of a stored column, added if new (views share columns with the same SQL)."""
    if sql not in value_sql:
        value_sql.append(sql)
        hashed.append(is_hash)
    return value_sql.index(sql)


def _view_plan(view: FeatureView, features: Sequence[Feature], suffix: str, lateness_us: int) -> ViewPlan:
    src = view.source
    owner = f"feature view {view.name}"
    source_tables = referenced_tables(src.query) if src.query is not None else {src.table}
    value_sql: list[str] = []
    hashed: list[bool] = []
    raw: dict[str, int] = {}
    aggs: list[AggregationPlan] = []
    longest = 0
    keep_all = False
    for feature in features:
        index: int | None = None
        sql: str | None = None
        if feature.uses_feature_time:
            if feature.function in ("count_distinct", "last"):
                raise FeatureError(
                    f"{owner}: feature {feature.name}: {feature.function} over an expression of "
                    "feature_time is not served online"
                )
            sql, columns = _read_time_expression(feature, owner)
            for column in sorted(columns):
                raw[column] = _column_index(value_sql, hashed, _raw_column_sql(column, source_tables), False)
            python_source(sql, str, owner=f"{owner}: feature {feature.name}")  # refuses what it cannot serve
            is_hash = False
        else:
            value, is_hash = _value_sql(feature)
            if value is not None:
                index = _column_index(value_sql, hashed, value, is_hash)
        if feature.window_us is None:
            keep_all = True
        else:
            longest = max(longest, feature.window_us)
        aggs.append(
            AggregationPlan(
                feature=feature.name,
                function=feature.function,
                window_us=feature.window_us,
                value=index,
                default=feature.default,
                distinct_by_hash=is_hash,
                expression_sql=sql,
            )
        )
    return ViewPlan(
        view=view,
        value_sql=tuple(value_sql),
        hashed=tuple(hashed),
        aggregations=tuple(aggs),
        retention_us=None if keep_all else longest + lateness_us,
        label=view.source.is_label_source,
        raw_columns=raw,
        suffix=suffix,
    )


def build_plan(feature_set: FeatureSet, *, lateness_us: int = 3_600_000_000) -> OnlinePlan:
    """Compile ``feature_set`` for the online path; :class:`FeatureError` for what it cannot serve.

    A view mixing bounded windows with ``"all"`` is kept as two states per
    entity: the bounded part forgets rows past its longest window, so only the
    columns the ``"all"`` aggregations read are kept for ever.
    """
    views: list[ViewPlan] = []
    for view in feature_set.views:
        if view.source.tie_breaker is None:
            raise FeatureError(
                f"feature view {view.name}: source {view.source.name} needs an order_column "
                "(an integer row id) to be kept online"
            )
        bounded = [f for f in view.features if f.window_us is not None]
        unbounded = [f for f in view.features if f.window_us is None]
        if bounded:
            views.append(_view_plan(view, bounded, "", lateness_us))
        if unbounded:
            views.append(_view_plan(view, unbounded, "__all" if bounded else "", lateness_us))
    return OnlinePlan(feature_set=feature_set, views=tuple(views), lateness_us=lateness_us)


def state_key(view: ViewPlan, keys: Sequence[object]) -> str:
    """The store key of one entity's state in ``view``."""
    return f"{view.name}:{'|'.join(str(k) for k in keys)}"
