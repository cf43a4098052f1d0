"""SQL helpers for feature definitions: parse expressions, carry them to each engine.

Feature SQL is written once in DuckDB's dialect. :func:`to_dialect` transpiles it
with sqlglot and rewrites the one function DuckDB has that the others spell
differently, ``EPOCH_US(ts)`` (microseconds since the epoch, ``BIGINT``).
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

from cartwise.errors import FeatureError

__all__ = ["SOURCE_DIALECT", "referenced_columns", "referenced_tables", "to_dialect"]

SOURCE_DIALECT = "duckdb"


@functools.lru_cache(maxsize=4096)
def _parse_expression(text: str) -> exp.Expr:
    try:
        tree: exp.Expr = sqlglot.parse_one(text, read=SOURCE_DIALECT)
        return tree
    except sqlglot.errors.ParseError as exc:
        raise FeatureError(f"cannot parse SQL expression {text!r}: {exc}") from exc


def referenced_columns(text: str) -> set[str]:
    """Column names an SQL expression refers to (lower-cased, unqualified)."""
    tree = _parse_expression(text)
    return {col.name.lower() for col in tree.find_all(exp.Column)}


def referenced_tables(query: str) -> set[str]:
    """Table names a SELECT reads."""
    tree = _parse_expression(query)
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name not in ctes}


def _epoch_us(node: exp.Expr, dialect: str) -> exp.Expr:
    if isinstance(node, exp.Anonymous) and node.name.upper() == "EPOCH_US":
        (arg,) = node.expressions
        if dialect == "postgres":
            # EXTRACT(EPOCH ...) is an exact numeric on PostgreSQL >= 14
            template: exp.Expr = sqlglot.parse_one(
                "CAST(EXTRACT(EPOCH FROM x) * 1000000 AS BIGINT)", read="postgres"
            )
            rewritten: exp.Expr = template.transform(
                lambda n: arg.copy() if isinstance(n, exp.Column) and n.name == "x" else n
            )
            return rewritten
        if dialect == "spark":
            return exp.Anonymous(this="UNIX_MICROS", expressions=[arg.copy()])
    return node


def to_dialect(sql: str, dialect: str) -> str:
    """Transpile DuckDB-dialect ``sql`` to ``dialect`` (``duckdb``, ``postgres``, ``spark``)."""
    if dialect == SOURCE_DIALECT:
        return sql
    statements = []
    for tree in sqlglot.parse(sql, read=SOURCE_DIALECT):
        if tree is None:
            continue
        tree = tree.transform(lambda n: _epoch_us(n, dialect))
        statements.append(tree.sql(dialect=dialect))
    return ";\n".join(statements)
