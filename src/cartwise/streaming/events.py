"""What travels on a stream: one row of an event-producing table, with its id and time.

Events are the rows of the tables the marketplace writes as things happen
(checkouts, session events, installment payments, chargebacks, credit outcomes).
Each carries the table it came from, the row's id, the time the row became known
(microseconds, UTC) and the row's columns. Timestamps inside ``fields`` are
integers of microseconds so that an event encodes to JSON and back unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cartwise.errors import StreamError

__all__ = ["StreamEvent", "decode_event", "encode_event", "events_from_table", "to_micros"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_micros(value: dt.datetime | int) -> int:
    """Microseconds since the epoch (UTC) of a timezone-aware datetime (ints pass through)."""
    if isinstance(value, int):
        return value
    if value.tzinfo is None:
        raise StreamError(f"timestamp {value!r} has no timezone; cartwise timestamps are UTC-aware")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One row of ``source`` that became known at ``event_time`` (µs UTC)."""

    source: str
    event_id: int
    event_time: int
    fields: Mapping[str, Any]

    @property
    def key(self) -> str:
        """Globally unique id of the event: ``source:event_id``."""
        return f"{self.source}:{self.event_id}"


def encode_event(event: StreamEvent) -> bytes:
    """Compact JSON bytes of an event."""
    return json.dumps(
        {"s": event.source, "i": event.event_id, "t": event.event_time, "f": event.fields},
        separators=(",", ":"),
    ).encode()


def decode_event(data: bytes | str) -> StreamEvent:
    """The event :func:`encode_event` wrote; a :class:`StreamError` if the bytes are not one."""
    try:
        raw = json.loads(data)
        return StreamEvent(str(raw["s"]), int(raw["i"]), int(raw["t"]), raw["f"])
    except (ValueError, KeyError, TypeError) as exc:
        preview = data[:80] if isinstance(data, bytes | str) else data
        raise StreamError(
            f"stream message {preview!r} is not a cartwise event ({exc}); "
            "publish events with cartwise.streaming.encode_event"
        ) from exc


def _column_values(column: pa.ChunkedArray) -> list[Any]:
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]
    return column.to_pylist()  # type: ignore[no-any-return]


def events_from_table(
    source: str, table: pa.Table, *, id_column: str, time_column: str
) -> Iterator[StreamEvent]:
    """One event per row of ``table``; rows whose ``time_column`` is null are not events yet."""
    for name in (id_column, time_column):
        if name not in table.column_names:
            raise StreamError(
                f"table {source!r} has no column {name!r} to build stream events from; "
                f"its columns are {table.column_names}"
            )
    columns = {name: _column_values(table.column(name)) for name in table.column_names}
    ids = columns[id_column]
    times = columns[time_column]
    names = table.column_names
    for i in range(table.num_rows):
        if times[i] is None:
            continue
        yield StreamEvent(source, int(ids[i]), int(times[i]), {name: columns[name][i] for name in names})
