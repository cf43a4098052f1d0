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

The expression is translated once into Python source (:func:`python_source`)
over small NULL-aware helpers (:data:`HELPERS`); the online reader inlines that
source in its loop over an entity's rows, and :func:`compile_expression` wraps
it as a function of one row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import sqlglot
from sqlglot import exp

from cartwise.errors import FeatureError

__all__ = ["HELPERS", "Compiled", "Row", "compile_expression", "expression_columns", "python_source"]

Row = Mapping[str, float | None]
Compiled = Callable[[Row, float], float | None]
"""``(row, feature_time_us) -> value`` (None for NULL)."""


def expression_columns(sql: str) -> set[str]:
    """Columns ``sql`` reads (lower-cased), ``feature_time`` included."""
    return {c.name.lower() for c in sqlglot.parse_one(sql, read="duckdb").find_all(exp.Column)}


def _parse(sql: str, owner: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(sql, read="duckdb")  # type: ignore[return-value, unused-ignore]
    except sqlglot.errors.ParseError as exc:
        raise FeatureError(f"{owner}: cannot parse {sql!r}: {exc}") from exc


def compile_expression(sql: str, *, owner: str = "") -> Compiled:
    """A function ``(row, feature_time_us) -> value`` computing ``sql`` on one stored row."""
    source = python_source(sql, lambda name: f"row[{name!r}]", owner=owner)
    return eval(f"lambda row, t: {source}", dict(HELPERS))  # type: ignore[no-any-return]


def python_source(sql: str, column: Callable[[str], str], *, owner: str = "") -> str:
    """``sql`` as one Python expression over ``t`` (the feature time, µs) and the :data:`HELPERS`.

    ``column(name)`` gives the Python expression reading a source column (its
    value, or None for NULL). The result evaluates to a float or None.
    """
    return _source(_parse(sql, owner), sql, owner, column)


def _div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _nullable(fn: Callable[[float, float], float]) -> Callable[[float | None, float | None], float | None]:
    def op(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else fn(a, b)

    return op


def _logic(decisive: float) -> Callable[[float | None, float | None], float | None]:
    # SQL's three-valued logic: FALSE wins an AND, TRUE wins an OR, otherwise NULL taints
    def op(a: float | None, b: float | None) -> float | None:
        a = None if a is None else float(a != 0)
        b = None if b is None else float(b != 0)
        if a == decisive or b == decisive:
            return decisive
        if a is None or b is None:
            return None
        return 1.0 - decisive

    return op


def _coalesce(*values: float | None) -> float | None:
    for v in values:
        if v is not None:
            return v
    return None


def _greatest(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _least(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


_BINARY: dict[type[exp.Expression], tuple[str, Callable[[float, float], float]]] = {
    exp.Add: ("_add", lambda a, b: a + b),
    exp.Sub: ("_sub", lambda a, b: a - b),
    exp.Mul: ("_mul", lambda a, b: a * b),
    exp.Div: ("_div", _div),
    exp.EQ: ("_eq", lambda a, b: float(a == b)),
    exp.NEQ: ("_neq", lambda a, b: float(a != b)),
    exp.LT: ("_lt", lambda a, b: float(a < b)),
    exp.LTE: ("_lte", lambda a, b: float(a <= b)),
    exp.GT: ("_gt", lambda a, b: float(a > b)),
    exp.GTE: ("_gte", lambda a, b: float(a >= b)),
}

HELPERS: dict[str, Any] = {
    **{name: _nullable(fn) for name, fn in _BINARY.values()},
    "_and": _logic(0.0),
    "_or": _logic(1.0),
    "_not": lambda v: None if v is None else float(v == 0),
    "_neg": lambda v: None if v is None else -v,
    "_round": lambda v: None if v is None else float(round(v)),
    "_truth": lambda v: v is not None and v != 0,
    "_coalesce": _coalesce,
    "_greatest": _greatest,
    "_least": _least,
}
"""The functions generated expression source calls (pass them as its globals)."""


def _source(node: exp.Expression, sql: str, owner: str, column: Callable[[str], str]) -> str:
    def unsupported() -> FeatureError:
        return FeatureError(
            f"{owner}: the online store cannot evaluate {node.sql(dialect='duckdb')!r} in {sql!r} at read time; "
            "use arithmetic, comparisons, AND/OR/NOT, IS NULL, CASE, COALESCE, GREATEST, LEAST, EPOCH_US"
        )

    def sub(child: exp.Expression) -> str:
        return _source(child, sql, owner, column)

    if isinstance(node, exp.Paren):
        return sub(node.this)
    if isinstance(node, exp.Column):
        name = node.name.lower()
        return "t" if name == "feature_time" else f"({column(name)})"
    if isinstance(node, exp.Literal):
        if node.is_string:
            raise unsupported()
        return repr(float(node.this))
    if isinstance(node, exp.Null):
        return "None"
    if isinstance(node, exp.Boolean):
        return "1.0" if node.this else "0.0"
    if isinstance(node, exp.Cast):
        target = node.to.this
        if target in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
            return sub(node.this)
        if target == exp.DataType.Type.BIGINT:
            return f"_round({sub(node.this)})"
        raise unsupported()
    if isinstance(node, exp.Anonymous) and node.name.upper() == "EPOCH_US" and len(node.expressions) == 1:
        return sub(node.expressions[0])
    if isinstance(node, exp.Neg):
        return f"_neg({sub(node.this)})"
    binary = _BINARY.get(type(node))
    if binary is not None:
        return f"{binary[0]}({sub(node.this)}, {sub(node.expression)})"
    if isinstance(node, exp.And | exp.Or):
        return f"{'_and' if isinstance(node, exp.And) else '_or'}({sub(node.this)}, {sub(node.expression)})"
    if isinstance(node, exp.Not):
        return f"_not({sub(node.this)})"
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        return f"(1.0 if {sub(node.this)} is None else 0.0)"
    if isinstance(node, exp.Coalesce | exp.Greatest | exp.Least):
        helper = {exp.Coalesce: "_coalesce", exp.Greatest: "_greatest", exp.Least: "_least"}[type(node)]
        return f"{helper}({', '.join(sub(a) for a in [node.this, *node.expressions])})"
    if isinstance(node, exp.Case):
        if node.this is not None:
            raise unsupported()  # CASE x WHEN ... : write CASE WHEN x = ... instead
        default = node.args.get("default")
        out = "None" if default is None else sub(default)
        for branch in reversed(node.args["ifs"]):
            out = f"({sub(branch.args['true'])} if _truth({sub(branch.this)}) else {out})"
        return out
    raise unsupported()
