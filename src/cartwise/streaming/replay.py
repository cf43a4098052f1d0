"""Turn warehouse tables into the event stream that produced them, in time order.

Each row becomes an event at the moment it became known: a checkout at
``created_at``, a browsing event at ``event_at``, a chargeback at
``reported_at``, a credit outcome at ``known_at``, a customer or product at
``created_at``. An installment gives two events: booked with its order (at the
checkout's ``created_at``, not yet paid) and, once paid, at ``paid_at`` with
the payment. Used to replay a simulated marketplace through the stream
processor, and by the skew test and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from cartwise.data.warehouse import Warehouse
from cartwise.domain.schemas import TABLES
from cartwise.errors import StreamError
from cartwise.streaming.events import StreamEvent, events_from_table

__all__ = ["STREAM_TABLES", "event_times", "known_rows_sql", "warehouse_events"]

STREAM_TABLES: dict[str, str] = {
    "customers": "created_at",
    "products": "created_at",
    "checkouts": "created_at",
    "installments": "paid_at",
    "events": "event_at",
    "chargebacks": "reported_at",
    "credit_outcomes": "known_at",
}
"""Tables whose rows are events, and the column holding when each became known."""

_RANK = {name: i for i, name in enumerate(STREAM_TABLES)}


def _installment_events(installments: pa.Table, checkouts: pa.Table | None) -> list[StreamEvent]:
    events = list(
        events_from_table("installments", installments, id_column="installment_id", time_column="paid_at")
    )
    if checkouts is None:
        raise StreamError("installment events need the checkouts table (their order time)")
    order_time = dict(
        zip(
            checkouts.column("checkout_id").to_pylist(),
            checkouts.column("created_at").cast(pa.int64()).to_pylist(),
            strict=True,
        )
    )
    booked = installments.set_column(
        installments.schema.get_field_index("paid_at"),
        "paid_at",
        pa.nulls(installments.num_rows, type=installments.schema.field("paid_at").type),
    )
    times = [order_time.get(c) for c in booked.column("checkout_id").to_pylist()]
    booked = booked.append_column("__booked_at", pa.array(times, type=pa.int64()))
    for event in events_from_table(
        "installments", booked, id_column="installment_id", time_column="__booked_at"
    ):
        fields = dict(event.fields)
        del fields["__booked_at"]
        events.append(StreamEvent(event.source, event.event_id, event.event_time, fields))
    return events


def warehouse_events(
    source: Warehouse | Mapping[str, pa.Table],
    *,
    tables: Iterable[str] | None = None,
    since_us: int | None = None,
    until_us: int | None = None,
) -> list[StreamEvent]:
    """Events of ``tables`` (default: every event table present), sorted by time, in ``[since, until)``."""
    wanted = list(tables) if tables is not None else list(STREAM_TABLES)
    unknown = [t for t in wanted if t not in STREAM_TABLES]
    if unknown:
        raise StreamError(f"tables {unknown} do not produce events; event tables are {list(STREAM_TABLES)}")

    def get(name: str) -> pa.Table | None:
        if isinstance(source, Warehouse):
            return source.read_table(name) if source.has_table(name) else None
        return source.get(name)

    events: list[StreamEvent] = []
    for name in wanted:
        table = get(name)
        if table is None:
            continue
        if name == "installments":
            events.extend(_installment_events(table, get("checkouts")))
            continue
        spec = TABLES[name]
        events.extend(
            events_from_table(name, table, id_column=spec.primary_key[0], time_column=STREAM_TABLES[name])
        )
    if since_us is not None or until_us is not None:
        lo = since_us if since_us is not None else -(2**63)
        hi = until_us if until_us is not None else 2**63 - 1
        events = [e for e in events if lo <= e.event_time < hi]
    events.sort(key=lambda e: (e.event_time, _RANK[e.source], e.event_id))
    return events


def event_times(events: list[StreamEvent]) -> pa.Array:
    """The events' times as an Arrow int64 array (for bisecting a replay)."""
    return pc.cast(pa.array([e.event_time for e in events], type=pa.int64()), pa.int64())


def known_rows_sql(table: str, as_of_us: int, relation: Callable[[str], str] = str) -> str:
    """SELECT of ``table``'s rows as the stream had told them before ``as_of_us`` (DuckDB dialect).

    The same rows, with the same values, as replaying :func:`warehouse_events`
    up to ``as_of_us``: an installment is there once its order was placed, and
    its ``paid_at`` only once paid. ``relation(name)`` names where each table is read from.
    """
    as_of = int(as_of_us)
    if table == "installments":
        return (
            f"SELECT i.* REPLACE (CASE WHEN EPOCH_US(i.paid_at) < {as_of} THEN i.paid_at END AS paid_at) "
            f"FROM {relation('installments')} AS i JOIN {relation('checkouts')} AS c "
            f"ON c.checkout_id = i.checkout_id WHERE EPOCH_US(c.created_at) < {as_of}"
        )
    column = STREAM_TABLES.get(table)
    if column is None:
        return f"SELECT * FROM {relation(table)}"  # a table whose rows are not events (merchants): all of it
    return f"SELECT * FROM {relation(table)} WHERE EPOCH_US({column}) < {as_of}"
