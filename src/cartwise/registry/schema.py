"""A model's input schema: the named, typed columns it scores, and when two schemas are compatible.

Types use MLflow's column type names (``double``, ``long``, ``boolean``, ``string``,
``datetime``) so the schema becomes the registered model's signature unchanged.
Integer widths and float widths are folded (``long``, ``double``): a model that was
trained on ``int32`` and is served ``int64`` is not a breaking change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from cartwise.errors import SchemaError

__all__ = ["COLUMN_TYPES", "InputColumn", "InputSchema", "column_type_of"]

COLUMN_TYPES = ("double", "long", "boolean", "string", "datetime")


def column_type_of(dtype: Any) -> str:
    """The schema type of a pandas dtype or an Arrow type."""
    if isinstance(dtype, pa.DataType):
        if pa.types.is_boolean(dtype):
            return "boolean"
        if pa.types.is_integer(dtype):
            return "long"
        if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
            return "double"
        if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
            return "datetime"
        if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_dictionary(dtype):
            return "string"
        raise SchemaError(f"Arrow type {dtype} has no cartwise input type; use one of {COLUMN_TYPES}")
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if (
        pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
    ):
        return "string"
    raise SchemaError(f"pandas dtype {dtype} has no cartwise input type; use one of {COLUMN_TYPES}")


@dataclass(frozen=True)
class InputColumn:
    """One input column of a model."""

    name: str
    type: str

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise SchemaError(f"input column {self.name!r}: type {self.type!r} is not one of {COLUMN_TYPES}")


@dataclass(frozen=True)
class InputSchema:
    """The ordered input columns a model scores."""

    columns: tuple[InputColumn, ...]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> InputSchema:
        return cls(tuple(InputColumn(name, type_) for name, type_ in pairs))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, columns: Sequence[str] | None = None) -> InputSchema:
        """The schema of ``columns`` (default: all) of a DataFrame."""
        names = list(columns) if columns is not None else [str(c) for c in frame.columns]
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise SchemaError(f"input columns {missing} are not in the frame; it has {list(frame.columns)}")
        return cls.from_pairs((name, column_type_of(frame[name].dtype)) for name in names)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def as_dict(self) -> dict[str, str]:
        return {c.name: c.type for c in self.columns}

    def to_json(self) -> str:
        return json.dumps([{"name": c.name, "type": c.type} for c in self.columns], separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> InputSchema:
        try:
            raw = json.loads(text)
            return cls.from_pairs((str(item["name"]), str(item["type"])) for item in raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise SchemaError(f"stored input schema is not valid JSON of name/type pairs: {exc}") from exc

    def incompatibilities(self, required: InputSchema) -> list[str]:
        """What stops this schema from accepting every input of ``required`` (empty when compatible).

        Compatible means: the same columns or a superset, each shared column with the same type.
        """
        mine: Mapping[str, str] = self.as_dict()
        problems = []
        for column in required.columns:
            if column.name not in mine:
                problems.append(f"input {column.name!r} ({column.type}) was dropped")
            elif mine[column.name] != column.type:
                problems.append(f"input {column.name!r} changed type {column.type} -> {mine[column.name]}")
        return problems

    def to_mlflow(self) -> Any:
        """The MLflow ``Schema`` of these columns."""
        from mlflow.types import ColSpec, Schema

        return Schema([ColSpec(c.type, c.name) for c in self.columns])
