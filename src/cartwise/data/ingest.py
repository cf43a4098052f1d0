"""Bring a company's own data in: validate a Parquet or CSV file against a table schema.

Validation happens entirely before anything is written, and the write itself is
one transaction, so a bad file changes nothing. Each error names the table, the
column and the first bad row (1-based, counting data rows, header excluded).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cartwise.data.warehouse import Warehouse, WriteMode
from cartwise.domain.schemas import TableSpec, table_spec
from cartwise.errors import SchemaError

__all__ = ["ingest_file", "read_file", "validate_table"]

logger = logging.getLogger(__name__)


def read_file(path: str | Path) -> pa.Table:
    """Read a Parquet or CSV file as Arrow (CSV columns stay text until validated)."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"file {path} does not exist")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet") or suffixes.endswith(".pq"):
            return pq.read_table(path)
        if ".csv" in suffixes:
            # Everything as text: casting column by column lets us name the first bad row.
            header = _csv_header(path)
            return pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in header},
                    strings_can_be_null=True,
                    null_values=[""],
                ),
            )
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SchemaError(
            f"cannot read {path}: it is not a well-formed {path.suffix[1:] or 'data'} file ({exc})"
        ) from exc
    raise SchemaError(
        f"cannot ingest {path}: use a .parquet or .csv file (got {path.suffix or 'no suffix'!r})"
    )


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        raise SchemaError(f"cannot read {path}: the CSV file is empty; its first line must name the columns")
    return header


def validate_table(spec: TableSpec, table: pa.Table) -> pa.Table:
    """Return ``table`` cast to ``spec``'s schema, or raise :class:`SchemaError` naming the first problem."""
    where = f"table {spec.name!r}"
    present = set(table.column_names)
    missing = [c for c in spec.columns if c not in present]
    if missing:
        raise SchemaError(
            f"{where}: missing column(s) {', '.join(missing)}; expected columns: {', '.join(spec.columns)}"
        )
    extra = [c for c in table.column_names if c not in spec.columns]
    if extra:
        raise SchemaError(
            f"{where}: unexpected column(s) {', '.join(extra)}; remove them or check their spelling "
            f"(expected: {', '.join(spec.columns)})"
        )
    columns = []
    for field in spec.schema:
        column = _cast_column(where, field, table.column(field.name))
        if not field.nullable and column.null_count:
            row = _first_index(pc.is_null(column))
            raise SchemaError(
                f"{where}, column {field.name!r}: null at row {row + 1}; this column is required"
            )
        allowed = spec.allowed(field.name)
        if allowed is not None:
            outside = pc.invert(pc.is_in(column, value_set=pa.array(allowed, type=field.type)))
            if pc.any(pc.and_(outside, pc.is_valid(column))).as_py():
                row = _first_index(pc.and_kleene(outside, pc.is_valid(column)))
                raise SchemaError(
                    f"{where}, column {field.name!r}: row {row + 1} has {column[row].as_py()!r}; "
                    f"allowed values are {', '.join(allowed)}"
                )
        columns.append(column)
    result = pa.Table.from_arrays(columns, schema=spec.schema)
    _check_unique(where, spec, result)
    return result


def ingest_file(warehouse: Warehouse, table: str, path: str | Path, *, mode: WriteMode = "replace") -> int:
    """Validate ``path`` against ``table``'s schema and write it; returns the rows written."""
    spec = table_spec(table)
    data = validate_table(spec, read_file(path))
    if data.num_rows == 0:
        raise SchemaError(f"table {table!r}: {path} holds no rows; nothing was written")
    if mode == "append" and warehouse.has_table(table):
        _check_new_keys(spec, warehouse.read_table(table, columns=list(spec.primary_key)), data, path)
    warehouse.write_table(table, data, mode=mode)
    logger.info("ingested %d rows from %s into %s (%s)", data.num_rows, path, table, mode)
    return int(data.num_rows)


def _first_index(mask: pa.ChunkedArray | pa.Array) -> int:
    indices = pc.indices_nonzero(pc.fill_null(mask, True))
    return int(indices[0].as_py())


def _cast_column(where: str, field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
    target = field.type
    if column.type == target:
        return column
    if pa.types.is_list(target) and pa.types.is_string(column.type):
        return _parse_list_column(where, field, column)
    if pa.types.is_timestamp(target) and (
        pa.types.is_string(column.type) or pa.types.is_timestamp(column.type)
    ):
        return _cast_timestamps(where, field, column)
    try:
        return column.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values = column.to_pylist()
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            pa.array([value], type=column.type).cast(target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise SchemaError(
                f"{where}, column {field.name!r}: row {i + 1} has {value!r}, which is not a valid "
                f"{target}{_hint(target)}"
            ) from None
    raise SchemaError(
        f"{where}, column {field.name!r}: type {column.type} cannot be read as {target}{_hint(target)}"
    )


def _cast_timestamps(where: str, field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        if column.type.tz is None:
            raise SchemaError(
                f"{where}, column {field.name!r}: timestamps have no time zone; cartwise stores UTC, "
                "so write them with a UTC time zone"
            )
        # Same instants in UTC; sub-microsecond digits are dropped.
        return column.cast(field.type, safe=False)
    target = pa.timestamp("us", tz="UTC")
    try:
        return column.cast(target).cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, value in enumerate(column.to_pylist()):
        if value is None:
            continue
        try:
            pa.array([value]).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise SchemaError(
                f"{where}, column {field.name!r}: row {i + 1} has {value!r}, which is not an "
                "ISO-8601 timestamp with a zone offset (e.g. 2026-01-31T12:00:00+00:00 or ...Z)"
            ) from None
    raise SchemaError(f"{where}, column {field.name!r}: cannot read the values as UTC timestamps")


def _parse_list_column(where: str, field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
    parsed: list[Any] = []
    for i, value in enumerate(column.to_pylist()):
        if value is None:
            parsed.append(None)
            continue
        try:
            items = json.loads(value)
            if not isinstance(items, list):
                raise ValueError
            parsed.append(pa.array(items, type=field.type.value_type).to_pylist())
        except (ValueError, pa.ArrowInvalid, pa.ArrowTypeError):
            raise SchemaError(
                f"{where}, column {field.name!r}: row {i + 1} has {value!r}; write a JSON list such as [1, 2, 3]"
            ) from None
    return pa.chunked_array([pa.array(parsed, type=field.type)])


def _check_unique(where: str, spec: TableSpec, table: pa.Table) -> None:
    keys = list(spec.primary_key)
    counts = table.group_by(keys).aggregate([([], "count_all")])
    dupes = counts.filter(pc.greater(counts.column("count_all"), 1))
    if dupes.num_rows == 0:
        return
    first = {k: dupes.column(k)[0].as_py() for k in keys}
    mask = None
    for k, v in first.items():
        eq = pc.equal(table.column(k), v)
        mask = eq if mask is None else pc.and_(mask, eq)
    assert mask is not None
    rows = pc.indices_nonzero(mask).to_pylist()
    key_text = ", ".join(f"{k}={v!r}" for k, v in first.items())
    second = rows[1] + 1 if len(rows) > 1 else "an existing row"
    raise SchemaError(
        f"{where}: duplicate key {key_text} at row {second} (first seen at row {rows[0] + 1}); "
        f"{', '.join(keys)} must be unique"
    )


def _check_new_keys(spec: TableSpec, existing: pa.Table, data: pa.Table, path: str | Path) -> None:
    """Refuse an append whose keys are already in the warehouse, naming the first such row."""
    keys = list(spec.primary_key)
    if existing.num_rows == 0:
        return
    new_keys = data.select(keys).append_column("__row", pa.array(range(data.num_rows), type=pa.int64()))
    clashes = new_keys.join(existing.select(keys).group_by(keys).aggregate([]), keys, join_type="inner")
    if clashes.num_rows == 0:
        return
    first = int(pc.min(clashes.column("__row")).as_py())
    key_text = ", ".join(f"{k}={data.column(k)[first].as_py()!r}" for k in keys)
    raise SchemaError(
        f"table {spec.name!r}: row {first + 1} of {path} has key {key_text}, which the warehouse already "
        f"holds; {', '.join(keys)} must be unique (drop those rows, or use --mode replace)"
    )


def _hint(target: pa.DataType) -> str:
    if pa.types.is_integer(target):
        return " (money is an integer count of minor units, e.g. 1999 for 19.99)"
    return ""
