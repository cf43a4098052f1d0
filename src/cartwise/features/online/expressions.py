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

The expression is translated once into Python source (:func:`python_source`):
each operand is bound once to a temporary and tested for NULL inline, and only
division, COALESCE, GREATEST and LEAST call small helpers (:data:`HELPERS`). The
online reader inlines that source in its loop over an entity's rows, and
:func:`compile_expression` wraps it as a function of one row.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping
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
    return _source(_parse(sql, owner), sql, owner, column, itertools.count())


def _div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _nullable(fn: Callable[[float, float], float]) -> Callable[[float | None, float | None], float | None]:
    def op(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else fn(a, b)

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
    exp.Div: ("_div", _div),
}
"""Operations evaluated by a helper call (the rest are written inline, see ``_INLINE``)."""

HELPERS: dict[str, Any] = {
    **{name: _nullable(fn) for name, fn in _BINARY.values()},
    "_coalesce": _coalesce,
    "_greatest": _greatest,
    "_least": _least,
}
"""The functions generated expression source calls (pass them as its globals)."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?[0-9.]+(e[-+]?[0-9]+)?")

_INLINE: dict[type[exp.Expression], str] = {
    exp.Add: "{a} + {b}",
    exp.Sub: "{a} - {b}",
    exp.Mul: "{a} * {b}",
    exp.EQ: "(1.0 if {a} == {b} else 0.0)",
    exp.NEQ: "(1.0 if {a} != {b} else 0.0)",
    exp.LT: "(1.0 if {a} < {b} else 0.0)",
    exp.LTE: "(1.0 if {a} <= {b} else 0.0)",
    exp.GT: "(1.0 if {a} > {b} else 0.0)",
    exp.GTE: "(1.0 if {a} >= {b} else 0.0)",
}
"""Operations written inline (their NULL checks around them) rather than as helper calls."""


def _source(
    node: exp.Expression, sql: str, owner: str, column: Callable[[str], str], temps: Iterator[int]
) -> str:
    """Python source of ``node``. Operands are bound once to temporaries (``:=``) so each is
    evaluated once and NULL checks cost no function call."""

    def unsupported() -> FeatureError:
        return FeatureError(
            f"{owner}: the online store cannot evaluate {node.sql(dialect='duckdb')!r} in {sql!r} at read time; "
            "use arithmetic, comparisons, AND/OR/NOT, IS NULL, CASE, COALESCE, GREATEST, LEAST, EPOCH_US"
        )

    def sub(child: exp.Expression) -> str:
        return _source(child, sql, owner, column, temps)

    def temp() -> str:
        return f"_w{next(temps)}"

    def bind(source: str) -> tuple[str, str | None]:
        """(name to read the value by, NULL test or None when it cannot be NULL), binding
        anything but a column, ``t`` or a number to a temporary."""
        if source == "t" or _NUMBER.fullmatch(source):
            return source, None
        if _NAME.fullmatch(source):
            return source, f"{source} is None"
        name = temp()
        return name, f"({name} := {source}) is None"

    def null_guard(*tests: str | None) -> str:
        present = [test for test in tests if test is not None]
        return " or ".join(present)

    if isinstance(node, exp.Paren):
        return sub(node.this)
    if isinstance(node, exp.Column):
        name = node.name.lower()
        return "t" if name == "feature_time" else column(name)
    if isinstance(node, exp.Literal):
        if node.is_string:
            raise unsupported()
        number = float(node.this)
        return repr(number) if math.isfinite(number) else f"float({str(number)!r})"
    if isinstance(node, exp.Null):
        return "None"
    if isinstance(node, exp.Boolean):
        return "1.0" if node.this else "0.0"
    if isinstance(node, exp.Cast):
        target = node.to.this
        if target in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
            return sub(node.this)
        if target == exp.DataType.Type.BIGINT:
            a = temp()
            return f"(None if ({a} := {sub(node.this)}) is None else float(round({a})))"
        raise unsupported()
    if isinstance(node, exp.Anonymous) and node.name.upper() == "EPOCH_US" and len(node.expressions) == 1:
        return sub(node.expressions[0])
    if isinstance(node, exp.Neg):
        a, test = bind(sub(node.this))
        return f"-{a}" if test is None else f"(None if {test} else -{a})"
    inline = _INLINE.get(type(node))
    if inline is not None:
        (a, test_a), (b, test_b) = bind(sub(node.this)), bind(sub(node.expression))
        operation = inline.format(a=a, b=b)
        guard = null_guard(test_a, test_b)
        return f"({operation})" if not guard else f"(None if {guard} else {operation})"
    binary = _BINARY.get(type(node))
    if binary is not None:
        return f"{binary[0]}({sub(node.this)}, {sub(node.expression)})"
    if isinstance(node, exp.And | exp.Or):
        # SQL's three-valued logic: FALSE wins an AND, TRUE wins an OR, otherwise NULL taints
        a, b = temp(), temp()
        wins = "== 0" if isinstance(node, exp.And) else "!= 0"
        decisive, other = ("0.0", "1.0") if isinstance(node, exp.And) else ("1.0", "0.0")
        return (
            f"({decisive} if (({a} := {sub(node.this)}) is not None and {a} {wins}) "
            f"or (({b} := {sub(node.expression)}) is not None and {b} {wins}) "
            f"else (None if {a} is None or {b} is None else {other}))"
        )
    if isinstance(node, exp.Not):
        a = temp()
        return f"(None if ({a} := {sub(node.this)}) is None else (1.0 if {a} == 0 else 0.0))"
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
            c = temp()
            out = f"({sub(branch.args['true'])} if (({c} := {sub(branch.this)}) is not None and {c} != 0) else {out})"
        return out
    raise unsupported()
