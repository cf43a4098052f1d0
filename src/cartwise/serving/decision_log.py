"""The durable decision log, written off the request path, idempotent on ``checkout_id``.

Every decision is queued to a background writer thread (bounded queue; flushed on
shutdown) that appends it in batches: after the first decision of a batch it waits
``linger_seconds`` (20 ms by default) for more, so a busy service commits a few
dozen times a second rather than once per decision. The first decision for a ``checkout_id``
wins: a retried checkout gets the stored answer back (:meth:`DecisionLog.lookup`)
and the table never holds it twice (primary key plus insert-or-ignore, which
also covers two server processes racing on the same id).

Rows follow :data:`cartwise.monitoring.decision_log.DECISION_LOG_SCHEMA`
(:meth:`DecisionLog.to_arrow` returns exactly that) plus the JSON answer sent to
the client. Shadow (challenger) scores go to a second table.

Adapters: :class:`SqliteDecisionLog` (embedded, a file under the data dir) and
:class:`PostgresDecisionLog` (production).
"""

from __future__ import annotations

import abc
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from cartwise.errors import WarehouseError
from cartwise.monitoring.decision_log import DECISION_LOG_SCHEMA, validate_decision_log

__all__ = [
    "DecisionLog",
    "DecisionRecord",
    "PostgresDecisionLog",
    "ShadowScore",
    "SqliteDecisionLog",
]

logger = logging.getLogger(__name__)

_LOG_COLUMNS = [f.name for f in DECISION_LOG_SCHEMA]
_MAP_COLUMNS = ("numeric_features", "categorical_features")


@dataclass(frozen=True)
class ShadowScore:
    """A challenger's score for a decision the champion made."""

    decision_id: str
    checkout_id: int
    model: str
    version: str
    score: float
    champion_score: float
    decided_at_us: int


@dataclass(frozen=True)
class DecisionRecord:
    """One row of the decision log plus the answer sent to the client."""

    decision_id: str
    checkout_id: int
    customer_id: int
    merchant_id: int
    decided_at_us: int
    amount_minor: int
    currency: str
    outcome: str
    fraud_score: float
    default_probability: float
    fraud_model_version: str
    credit_model_version: str
    degraded: bool
    degraded_reason: str | None
    latency_ms: float
    numeric_features: Mapping[str, float | None]
    categorical_features: Mapping[str, str]
    response_json: str = field(repr=False, default="{}")

    def row(self) -> tuple[Any, ...]:
        return (
            self.decision_id,
            self.checkout_id,
            self.customer_id,
            self.merchant_id,
            self.decided_at_us,
            self.amount_minor,
            self.currency,
            self.outcome,
            self.fraud_score,
            self.default_probability,
            self.fraud_model_version,
            self.credit_model_version,
            self.degraded,
            self.degraded_reason,
            self.latency_ms,
            _json(self.numeric_features),
            _json(self.categorical_features),
            self.response_json,
        )


def _json(values: Mapping[str, Any]) -> str:
    """JSON text of a feature map (orjson: the log writer serialises ~200 values per decision)."""
    return orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY).decode()


_STOP = object()


class DecisionLog(abc.ABC):
    """A decision log with a background writer; subclasses store batches and answer look-ups."""

    def __init__(
        self, *, max_queue: int = 50_000, batch_size: int = 500, linger_seconds: float = 0.02
    ) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._linger = linger_seconds
        self._pending: dict[int, str] = {}
        self._pending_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.write_errors = 0

    # -- adapter ----------------------------------------------------------------
    @abc.abstractmethod
    def _open(self) -> None: ...

    @abc.abstractmethod
    def _write(self, decisions: Sequence[DecisionRecord], shadows: Sequence[ShadowScore]) -> None: ...

    @abc.abstractmethod
    def _stored_response(self, checkout_id: int) -> str | None: ...

    @abc.abstractmethod
    def _rows(self) -> list[tuple[Any, ...]]: ...

    @abc.abstractmethod
    def shadow_rows(self) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def _close_storage(self) -> None: ...

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Open the storage (creating the tables) and start the writer thread."""
        self._open()
        self._thread = threading.Thread(target=self._run, name="decision-log-writer", daemon=True)
        self._thread.start()

    def open_for_reading(self) -> None:
        """Open the storage (creating the tables) without a writer: for reading the log back."""
        self._open()

    def close(self) -> None:
        """Write everything queued, then stop the writer."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
            self._thread = None
        self._close_storage()

    def flush(self, timeout: float = 10.0) -> None:
        """Block until everything queued so far is written (for tests and shutdown)."""
        done = threading.Event()
        self._queue.put(done, timeout=timeout)
        done.wait(timeout)

    # -- request path --------------------------------------------------------------------
    def lookup(self, checkout_id: int) -> dict[str, Any] | None:
        """The stored answer for ``checkout_id`` (queued or written), or None if it was never decided."""
        with self._pending_lock:
            pending = self._pending.get(checkout_id)
        text = pending if pending is not None else self._stored_response(checkout_id)
        return None if text is None else dict(json.loads(text))

    def record(self, decision: DecisionRecord) -> bool:
        """Queue a decision; False if it was already queued (a concurrent retry) or the queue is full."""
        with self._pending_lock:
            if decision.checkout_id in self._pending:
                return False
            self._pending[decision.checkout_id] = decision.response_json
        try:
            self._queue.put_nowait(decision)
        except queue.Full:
            with self._pending_lock:
                self._pending.pop(decision.checkout_id, None)
            self.dropped += 1
            logger.error("decision log queue full: decision %s not logged", decision.decision_id)
            return False
        return True

    def record_shadow(self, shadow: ShadowScore) -> None:
        try:
            self._queue.put_nowait(shadow)
        except queue.Full:
            self.dropped += 1

    # -- writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if self._linger and isinstance(item, DecisionRecord | ShadowScore):
                # Let a batch gather: one transaction for the decisions of the next few ms rather
                # than one per decision, and no wake-up of this thread (and GIL hand-over) for each.
                time.sleep(self._linger)
            items = [item]
            while len(items) < self._batch_size:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            decisions = [i for i in items if isinstance(i, DecisionRecord)]
            shadows = [i for i in items if isinstance(i, ShadowScore)]
            if decisions or shadows:
                try:
                    self._write(decisions, shadows)
                except Exception:  # keep serving; the error is counted and logged
                    self.write_errors += 1
                    logger.exception("could not write %d decisions to the decision log", len(decisions))
                with self._pending_lock:
                    for d in decisions:
                        self._pending.pop(d.checkout_id, None)
            for i in items:
                if isinstance(i, threading.Event):
                    i.set()
                elif i is _STOP:
                    stop = True

    # -- reading back ------------------------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        """Every logged decision as a table of DECISION_LOG_SCHEMA (for monitoring)."""
        rows = self._rows()
        cols: dict[str, list[Any]] = {name: [] for name in _LOG_COLUMNS}
        for row in rows:
            for name, value in zip(_LOG_COLUMNS, row, strict=True):
                if name in _MAP_COLUMNS:
                    value = (
                        None
                        if value is None
                        else list((json.loads(value) if isinstance(value, str) else value).items())
                    )
                elif name == "degraded":
                    value = bool(value)
                cols[name].append(value)
        arrays = [pa.array(cols[f.name], type=f.type) for f in DECISION_LOG_SCHEMA]
        return validate_decision_log(pa.Table.from_arrays(arrays, schema=DECISION_LOG_SCHEMA))


_SQLITE_LOG = """
CREATE TABLE IF NOT EXISTS decision_log (
  decision_id TEXT NOT NULL, checkout_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,
  merchant_id INTEGER NOT NULL, decided_at INTEGER NOT NULL, amount_minor INTEGER NOT NULL,
  currency TEXT NOT NULL, outcome TEXT NOT NULL, fraud_score REAL NOT NULL,
  default_probability REAL NOT NULL, fraud_model_version TEXT NOT NULL,
  credit_model_version TEXT NOT NULL, degraded INTEGER NOT NULL, degraded_reason TEXT,
  latency_ms REAL NOT NULL, numeric_features TEXT, categorical_features TEXT, response TEXT NOT NULL)
"""
_SQLITE_SHADOW = """
CREATE TABLE IF NOT EXISTS shadow_scores (
  decision_id TEXT NOT NULL, checkout_id INTEGER NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL,
  score REAL NOT NULL, champion_score REAL NOT NULL, decided_at INTEGER NOT NULL)
"""


class SqliteDecisionLog(DecisionLog):
    """The embedded decision log: a SQLite file in WAL mode under the data dir."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = self._connect()
            self._writer.execute(_SQLITE_LOG)
            self._writer.execute(_SQLITE_SHADOW)
            self._reader = self._connect()
        except sqlite3.Error as exc:
            raise WarehouseError(
                f"cannot open the decision log {self.path} ({exc}); check the data dir is writable"
            ) from exc

    def _write(self, decisions: Sequence[DecisionRecord], shadows: Sequence[ShadowScore]) -> None:
        assert self._writer is not None
        conn = self._writer
        conn.execute("BEGIN")
        try:
            if decisions:
                conn.executemany(
                    f"INSERT OR IGNORE INTO decision_log VALUES ({', '.join('?' * 18)})",
                    [d.row() for d in decisions],
                )
            if shadows:
                conn.executemany(
                    "INSERT INTO shadow_scores VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            s.decision_id,
                            s.checkout_id,
                            s.model,
                            s.version,
                            s.score,
                            s.champion_score,
                            s.decided_at_us,
                        )
                        for s in shadows
                    ],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _stored_response(self, checkout_id: int) -> str | None:
        assert self._reader is not None
        with self._read_lock:
            row = self._reader.execute(
                "SELECT response FROM decision_log WHERE checkout_id = ?", (checkout_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def _rows(self) -> list[tuple[Any, ...]]:
        assert self._reader is not None
        with self._read_lock:
            return list(
                self._reader.execute(
                    f"SELECT {', '.join(_LOG_COLUMNS).replace('decided_at_us', 'decided_at')} FROM decision_log ORDER BY decided_at"
                )
            )

    def shadow_rows(self) -> list[dict[str, Any]]:
        assert self._reader is not None
        with self._read_lock:
            cur = self._reader.execute("SELECT * FROM shadow_scores ORDER BY decided_at")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur]

    def _close_storage(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                conn.close()
        self._writer = self._reader = None


class PostgresDecisionLog(DecisionLog):
    """The production decision log: tables ``decision_log`` and ``shadow_scores`` in a PostgreSQL schema."""

    def __init__(self, dsn: str, db_schema: str = "cartwise", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dsn = dsn
        self.db_schema = db_schema
        self._writer: Any = None
        self._reader: Any = None
        self._read_lock = threading.Lock()

    def _open(self) -> None:
        import psycopg

        s = self.db_schema
        try:
            self._writer = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
            self._writer.execute(f'CREATE SCHEMA IF NOT EXISTS "{s}"')
            self._writer.execute(
                f"""CREATE TABLE IF NOT EXISTS "{s}".decision_log (
                decision_id TEXT NOT NULL, checkout_id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL,
                merchant_id BIGINT NOT NULL, decided_at BIGINT NOT NULL, amount_minor BIGINT NOT NULL,
                currency TEXT NOT NULL, outcome TEXT NOT NULL, fraud_score DOUBLE PRECISION NOT NULL,
                default_probability DOUBLE PRECISION NOT NULL, fraud_model_version TEXT NOT NULL,
                credit_model_version TEXT NOT NULL, degraded BOOLEAN NOT NULL, degraded_reason TEXT,
                latency_ms DOUBLE PRECISION NOT NULL, numeric_features JSONB, categorical_features JSONB,
                response TEXT NOT NULL)"""
            )
            self._writer.execute(
                f"""CREATE TABLE IF NOT EXISTS "{s}".shadow_scores (
                decision_id TEXT NOT NULL, checkout_id BIGINT NOT NULL, model TEXT NOT NULL,
                version TEXT NOT NULL, score DOUBLE PRECISION NOT NULL,
                champion_score DOUBLE PRECISION NOT NULL, decided_at BIGINT NOT NULL)"""
            )
            self._reader = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            raise WarehouseError(
                f"cannot open the decision log in PostgreSQL schema {s!r} ({exc}); check warehouse.dsn"
            ) from exc

    def _write(self, decisions: Sequence[DecisionRecord], shadows: Sequence[ShadowScore]) -> None:
        s = self.db_schema
        with self._writer.transaction(), self._writer.cursor() as cur:
            if decisions:
                cur.executemany(
                    f'INSERT INTO "{s}".decision_log VALUES ({", ".join(["%s"] * 18)}) '
                    "ON CONFLICT (checkout_id) DO NOTHING",
                    [d.row() for d in decisions],
                )
            if shadows:
                cur.executemany(
                    f'INSERT INTO "{s}".shadow_scores VALUES (%s, %s, %s, %s, %s, %s, %s)',
                    [
                        (
                            s_.decision_id,
                            s_.checkout_id,
                            s_.model,
                            s_.version,
                            s_.score,
                            s_.champion_score,
                            s_.decided_at_us,
                        )
                        for s_ in shadows
                    ],
                )

    def _stored_response(self, checkout_id: int) -> str | None:
        with self._read_lock:
            row = self._reader.execute(
                f'SELECT response FROM "{self.db_schema}".decision_log WHERE checkout_id = %s',
                (checkout_id,),
                prepare=True,
            ).fetchone()
        return None if row is None else str(row[0])

    def _rows(self) -> list[tuple[Any, ...]]:
        cols = ", ".join(_LOG_COLUMNS).replace("decided_at_us", "decided_at")
        with self._read_lock:
            return list(
                self._reader.execute(
                    f'SELECT {cols} FROM "{self.db_schema}".decision_log ORDER BY decided_at'
                )
            )

    def shadow_rows(self) -> list[dict[str, Any]]:
        with self._read_lock:
            cur = self._reader.execute(f'SELECT * FROM "{self.db_schema}".shadow_scores ORDER BY decided_at')
            names = [d.name for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur]

    def _close_storage(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                conn.close()
        self._writer = self._reader = None
