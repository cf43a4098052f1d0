"""The stream processor: applies events to the online feature state, exactly once in effect.

Each micro-batch goes through four steps:

1. events older than the watermark minus the allowed lateness are dropped
   (counted as ``too_late``); the rest are grouped by source table. On a
   partitioned stream (Kafka) the watermark that judges an event is its own
   partition's newest event time, so a partition read behind the others loses
   nothing; the store's checkpointed watermark is the newest of all;
2. each feature view's per-row SQL runs on the batch in an in-process DuckDB
   (the same expressions, in the same engine, as the offline path);
3. the touched states are read in one round trip, the rows merged by row id —
   a row already held is not applied again — and written back atomically
   together with the new watermark;
4. only then is the batch committed to the stream.

A crash after 3 and before 4 redelivers the batch, which step 3 then applies
as a no-op; a crash before 3 leaves the store as it was. So redelivered
events count once, and a restarted processor resumes from the stream's
committed position without double counting. Late events within the allowed
lateness land in their place in time: windows are computed at read time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from cartwise.data.warehouse import Warehouse
from cartwise.domain.schemas import TABLES, TIMESTAMP
from cartwise.errors import StreamError
from cartwise.features.online.plan import VERSION, SourceGroup, source_relation
from cartwise.features.online.store import OnlineStore
from cartwise.features.online.updates import ViewRows, apply_rows
from cartwise.streaming.events import StreamEvent
from cartwise.streaming.stream import EventStream

__all__ = ["ProcessorMetrics", "StreamProcessor", "events_to_table"]

logger = logging.getLogger(__name__)


@dataclass
class ProcessorMetrics:
    """Counters of a processor since it started."""

    events: int = 0
    applied_rows: int = 0
    """Rows added to (or newer versions replaced in) an entity's state; an event feeds one row per view."""
    duplicate_rows: int = 0
    """Rows that changed nothing: already held (a redelivery) or an older version of a held row."""
    too_late: int = 0
    """Events older than the watermark (their partition's, on a partitioned stream) minus the allowed lateness, dropped."""
    ignored: int = 0
    """Events of tables no feature view reads."""
    batches: int = 0
    busy_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    lag: int | None = None
    watermark_us: int | None = None

    @property
    def events_per_second(self) -> float:
        """Events handled per second of processing (waiting for the stream excluded)."""
        return self.events / self.busy_seconds if self.busy_seconds else 0.0


def _arrow_type(type_: pa.DataType) -> pa.DataType:
    return pa.int64() if pa.types.is_timestamp(type_) else type_


def events_to_table(
    source: str, events: Sequence[StreamEvent], *, version_column: str | None = None
) -> pa.Table:
    """The events of one source table as an Arrow table with that table's schema.

    ``version_column`` adds each event's time under that name.
    """
    spec = TABLES.get(source)
    if spec is None:
        raise StreamError(f"events of unknown table {source!r}; cartwise tables are {sorted(TABLES)}")
    columns = []
    for f in spec.schema:
        values = [e.fields.get(f.name) for e in events]
        try:
            array = pa.array(values, type=_arrow_type(f.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise StreamError(
                f"events of {source!r}: column {f.name!r} does not hold {f.type} values ({exc})"
            ) from exc
        if pa.types.is_timestamp(f.type):
            array = array.cast(TIMESTAMP)
        columns.append(array)
    # nullable fields: a missing value is reported by DuckDB, not rejected by Arrow
    fields = [pa.field(f.name, f.type) for f in spec.schema]
    if version_column is not None:
        columns.append(pa.array([e.event_time for e in events], type=pa.int64()))
        fields.append(pa.field(version_column, pa.int64()))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


class StreamProcessor:
    """Keeps ``store`` up to date with the events of ``stream``."""

    def __init__(
        self,
        store: OnlineStore,
        stream: EventStream,
        *,
        batch_size: int = 5000,
        poll_timeout: float = 0.5,
    ) -> None:
        self.store = store
        self.stream = stream
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.metrics = ProcessorMetrics()
        self._lateness_us = store.plan.lateness_us
        self._watermark: int | None = None
        self._partition_watermarks: dict[int, int] = {}
        self._con: duckdb.DuckDBPyConnection | None = None
        self._views_by_table = {t: store.plan.views_of_table(t) for t in store.plan.tables}
        self._groups_by_table = {t: store.plan.source_groups(t) for t in store.plan.tables}
        self._sql_cache: dict[int, tuple[str, list[dict[str, str]]]] = {}
        self._lookups = set(store.plan.lookup_tables)
        self._lookups_ready: set[str] = set()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(":memory:", config={"threads": 1})
        return self._con

    def _group_sql(self, group: SourceGroup) -> tuple[str, list[dict[str, str]]]:
        cached = self._sql_cache.get(id(group))
        if cached is None:
            relation = source_relation(group.source, "__events", self._lookup_name)
            cached = self._sql_cache[id(group)] = group.select(relation)
        return cached

    # -- lookup tables -------------------------------------------------------
    def _lookup_name(self, table: str) -> str:
        if table not in self._lookups:
            raise StreamError(f"table {table!r} is not joined by any source query of the feature set")
        return f"__lookup_{table}"

    def _add_lookup_rows(self, table: str, rows: pa.Table) -> None:
        """Add rows of a joined table; a row whose key is held already is kept as it was."""
        con = self.connection
        name = self._lookup_name(table)
        key = TABLES[table].primary_key[0]
        con.register("__lookup_rows", rows)
        try:
            if table not in self._lookups_ready:
                con.execute(f"CREATE TABLE IF NOT EXISTS {name} AS SELECT * FROM __lookup_rows LIMIT 0")
                self._lookups_ready.add(table)
            con.execute(
                f"INSERT INTO {name} SELECT * FROM (SELECT DISTINCT ON ({key}) * FROM __lookup_rows) AS r "
                f"WHERE NOT EXISTS (SELECT 1 FROM {name} AS t WHERE t.{key} = r.{key})"
            )
        finally:
            con.unregister("__lookup_rows")

    def load_lookups(self, warehouse: Warehouse) -> None:
        """Copy the tables that source queries join (e.g. products) from the warehouse.

        Rows of those tables that arrive on the stream are added as they come;
        loading them first lets a restarted processor join events to rows it
        committed before the restart.
        """
        for table in sorted(self._lookups):
            if warehouse.has_table(table):
                self._add_lookup_rows(table, warehouse.read_table(table))
                logger.info("loaded lookup table %s from the warehouse", table)

    @property
    def watermark_us(self) -> int | None:
        """Newest event time applied; restored from the store's checkpoint on first use."""
        if self._watermark is None:
            self._watermark = self.store.watermark_us
        return self._watermark

    @property
    def partition_watermarks_us(self) -> dict[int, int]:
        """Newest event time applied per partition of a partitioned stream, since this processor started."""
        return dict(self._partition_watermarks)

    # -- one batch -----------------------------------------------------------
    def apply(self, events: Sequence[StreamEvent], partitions: Sequence[int] | None = None) -> int:
        """Apply a batch of events to the store (not committing anything); returns rows added.

        ``partitions`` (one per event, from :attr:`Batch.partitions`) makes lateness a
        per-partition matter. A partition not yet seen by this processor has no floor:
        after a restart it delivers only events its group had not committed.
        """
        started = time.perf_counter()
        if partitions is not None and len(partitions) != len(events):
            raise StreamError(f"a batch of {len(events)} events came with {len(partitions)} partitions")
        watermark = self.watermark_us
        lateness = self._lateness_us
        floor = None if watermark is None else watermark - lateness
        floors = {p: w - lateness for p, w in self._partition_watermarks.items()}
        by_source: dict[str, list[StreamEvent]] = {}
        newest = watermark
        newest_by_partition = dict(self._partition_watermarks)
        for i, event in enumerate(events):
            if partitions is not None:
                floor = floors.get(partitions[i])
            if floor is not None and event.event_time < floor:
                self.metrics.too_late += 1
                continue
            if event.source not in self._views_by_table and event.source not in self._lookups:
                self.metrics.ignored += 1
                continue
            by_source.setdefault(event.source, []).append(event)
            if newest is None or event.event_time > newest:
                newest = event.event_time
            if partitions is not None:
                held = newest_by_partition.get(partitions[i])
                if held is None or event.event_time > held:
                    newest_by_partition[partitions[i]] = event.event_time
        batches: list[ViewRows] = []
        con = self.connection
        tables = {
            source: events_to_table(source, source_events, version_column=VERSION)
            for source, source_events in by_source.items()
        }
        for source in sorted(set(tables) & self._lookups):  # joined rows first: a batch may need its own
            self._add_lookup_rows(source, tables[source].drop_columns([VERSION]))
        for source, table in tables.items():
            groups = self._groups_by_table.get(source, [])
            if not groups:
                continue
            con.register("__events", table)
            try:
                for group in groups:
                    for lookup in {t for v in group.views for t in v.lookup_tables}:
                        if lookup not in self._lookups_ready:
                            self._add_lookup_rows(lookup, TABLES[lookup].schema.empty_table())
                    sql, aliases = self._group_sql(group)
                    result = con.sql(sql).to_arrow_table()
                    for view, columns in zip(group.views, aliases, strict=True):
                        batches.append(ViewRows.from_arrow(view, result, columns))
            finally:
                con.unregister("__events")
        result = apply_rows(self.store, batches, newest)
        # only once the store holds the batch: a failed write is retried against the old floors
        self._watermark = newest
        self._partition_watermarks = newest_by_partition
        self.metrics.events += len(events)
        self.metrics.applied_rows += result.added
        self.metrics.duplicate_rows += result.duplicates
        self.metrics.batches += 1
        self.metrics.watermark_us = newest
        self.metrics.busy_seconds += time.perf_counter() - started
        return result.added

    def step(self) -> int:
        """Consume one batch, apply it, then commit it; returns the number of events."""
        batch = self.stream.consume(self.batch_size, self.poll_timeout)
        if batch.events:
            self.apply(batch.events, batch.partitions)
        if batch.position is not None and (batch.events or batch.position):
            self.stream.commit(batch)
        if batch.lag is not None:
            self.metrics.lag = batch.lag
        return len(batch.events)

    def run(
        self,
        *,
        max_events: int | None = None,
        idle_timeout: float | None = None,
        stop: threading.Event | None = None,
        log_every: float = 10.0,
    ) -> ProcessorMetrics:
        """Process until ``max_events`` are handled, the stream is idle for ``idle_timeout`` s, or ``stop`` is set."""
        idle_since = time.monotonic()
        last_log = time.monotonic()
        handled = 0
        while stop is None or not stop.is_set():
            n = self.step()
            handled += n
            now = time.monotonic()
            if n:
                idle_since = now
            elif idle_timeout is not None and now - idle_since >= idle_timeout:
                break
            if max_events is not None and handled >= max_events:
                break
            if now - last_log >= log_every:
                last_log = now
                logger.info(
                    "processed %d events (%.0f events/s), %d rows applied, %d duplicates, %d too late, lag %s",
                    self.metrics.events,
                    self.metrics.events_per_second,
                    self.metrics.applied_rows,
                    self.metrics.duplicate_rows,
                    self.metrics.too_late,
                    self.metrics.lag,
                )
        self.metrics.lag = self.stream.lag()
        return self.metrics

    def replay(self, events: Iterable[StreamEvent], *, batch_size: int | None = None) -> ProcessorMetrics:
        """Apply ``events`` directly, in batches, without a stream (backfills, tests, benchmarks)."""
        size = batch_size or self.batch_size
        chunk: list[StreamEvent] = []
        for event in events:
            chunk.append(event)
            if len(chunk) >= size:
                self.apply(chunk)
                chunk = []
        if chunk:
            self.apply(chunk)
        return self.metrics

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
