"""Evaluate a feature's SQL expression on stored rows, at read time.

Aggregations that read ``feature_time`` ("is this installment unpaid at t")
cannot be computed once per row when the row arrives: their value depends on
the request time. For those, the online state keeps the columns the expression
reads and this module evaluates the expression for the request time, row by
row, with SQL semantics: NULL (``None``) propagates through arithmetic and
comparisons, AND/OR/NOT use three-valued logic, GREATEST/LEAST/COALESCE skip
NULLs, ``/`` divides as floating point (DuckDB's ``/``: ``x / 0`` is ±inf,
``0 / 0`` NaN). Timestamps are microseconds since the epoch, so ``EPOCH_US``
is the identity; truth values are 1.0 and 0.0. Anything else is refused when
the plan is built, naming the expression, so a feature is never served with
other semantics than the offline SQL. An entity's state holds few rows, so
plain Python beats numpy here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp

from cartwise.errors import FeatureError

__all__ = ["Compiled", "Row", "compile_expression", "expression_columns"]

Row = Mapping[str, float | None]
Compiled = Callable[[Row, float], float | None]
"""``(row, feature_time_us) -> value`` (None for NULL)."""


def expression_columns(sql: str) -> set[str]:
    """Columns ``sql`` reads (lower-cased), ``feature_time`` included."""
    return {c.name.lower() for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column)}


def compile_expression(sql: str, *, owner: str = "") -> Compiled:
    """A function ``(row, feature_time_us) -> value`` computing ``sql`` on one stored row."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise FeatureError(f"{owner}: cannot parse {sql!r}: {exc}") from exc
    return _compile(tree, sql, owner)  # type: ignore[arg-type, unused-ignore]


def _div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


_BINARY: dict[type[exp.Expression], Callable[[float, float], float]] = {
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: _div,
    exp.EQ: lambda a, b: float(a == b),
    exp.NEQ: lambda a, b: float(a != b),
    exp.LT: lambda a, b: float(a < b),
    exp.LTE: lambda a, b: float(a <= b),
    exp.GT: lambda a, b: float(a > b),
    exp.GTE: lambda a, b: float(a >= b),
}


def _compile(node: exp.Expression, sql: str, owner: str) -> Compiled:
    def unsupported() -> FeatureError:
        return FeatureError(
            f"{owner}: the online store cannot evaluate {node.sql(dialect='duckdb')!r} in {sql!r} at read time; "
            "use arithmetic, comparisons, AND/OR/NOT, IS NULL, CASE, COALESCE, GREATEST, LEAST, EPOCH_US"
        )

    if isinstance(node, exp.Paren):
        return _compile(node.this, sql, owner)
    if isinstance(node, exp.Column):
        name = node.name.lower()
        if name == "feature_time":
            return lambda row, t: t
        return lambda row, t: row[name]
    if isinstance(node, exp.Literal):
        if node.is_string:
            raise unsupported()
        number = float(node.this)
        return lambda row, t: number
    if isinstance(node, exp.Null):
        return lambda row, t: None
    if isinstance(node, exp.Boolean):
        truth = 1.0 if node.this else 0.0
        return lambda row, t: truth
    if isinstance(node, exp.Cast):
        target = node.to.this
        inner = _compile(node.this, sql, owner)
        if target in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
            return inner
        if target == exp.DataType.Type.BIGINT:
            return lambda row, t: (lambda v: None if v is None else float(round(v)))(inner(row, t))
        raise unsupported()
    if isinstance(node, exp.Anonymous) and node.name.upper() == "EPOCH_US" and len(node.expressions) == 1:
        return _compile(node.expressions[0], sql, owner)
    if isinstance(node, exp.Neg):
        inner = _compile(node.this, sql, owner)
        return lambda row, t: (lambda v: None if v is None else -v)(inner(row, t))
    fn = _BINARY.get(type(node))
    if fn is not None:
        left = _compile(node.this, sql, owner)
        right = _compile(node.expression, sql, owner)

        def binary(row: Row, t: float) -> float | None:
            a = left(row, t)
            if a is None:
                return None
            b = right(row, t)
            return None if b is None else fn(a, b)

        return binary
    if isinstance(node, exp.And | exp.Or):
        left = _compile(node.this, sql, owner)
        right = _compile(node.expression, sql, owner)
        # SQL's three-valued logic: FALSE wins an AND, TRUE wins an OR, otherwise NULL taints
        decisive = 0.0 if isinstance(node, exp.And) else 1.0

        def logic(row: Row, t: float) -> float | None:
            a, b = left(row, t), right(row, t)
            a = None if a is None else float(a != 0)
            b = None if b is None else float(b != 0)
            if a == decisive or b == decisive:
                return decisive
            if a is None or b is None:
                return None
            return 1.0 - decisive

        return logic
    if isinstance(node, exp.Not):
        inner = _compile(node.this, sql, owner)
        return lambda row, t: (lambda v: None if v is None else float(v == 0))(inner(row, t))
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        inner = _compile(node.this, sql, owner)
        return lambda row, t: float(inner(row, t) is None)
    if isinstance(node, exp.Coalesce | exp.Greatest | exp.Least):
        parts = [_compile(a, sql, owner) for a in [node.this, *node.expressions]]
        if isinstance(node, exp.Coalesce):

            def coalesce(row: Row, t: float) -> float | None:
                for part in parts:
                    v = part(row, t)
                    if v is not None:
                        return v
                return None

            return coalesce
        pick = max if isinstance(node, exp.Greatest) else min

        def extreme(row: Row, t: float) -> float | None:
            values = [v for v in (part(row, t) for part in parts) if v is not None]
            return pick(values) if values else None

        return extreme
    if isinstance(node, exp.Case):
        if node.this is not None:
            raise unsupported()  # CASE x WHEN ... : write CASE WHEN x = ... instead
        branches = [
            (_compile(i.this, sql, owner), _compile(i.args["true"], sql, owner)) for i in node.args["ifs"]
        ]
        default = _compile(node.args["default"], sql, owner) if node.args.get("default") is not None else None

        def case(row: Row, t: float) -> float | None:
            for cond, then in branches:
                c = cond(row, t)
                if c is not None and c != 0:
                    return then(row, t)
            return None if default is None else default(row, t)

        return case
    raise unsupported()
