"""Redis online store: MGET for a checkout, MULTI/EXEC for a batch of updates.

Writes, metadata and administration go through redis-py. The read of a
checkout — one MGET, the hot path of every decision — goes through
:class:`_MgetConnection`: a plain socket per thread that sends the MGET and
parses the reply with hiredis (the C parser redis-py itself uses), without
redis-py's connection pool and command layer, which cost more than the round
trip itself on loopback.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import hiredis
import redis
from redis.connection import parse_url

from cartwise.errors import OnlineStoreError
from cartwise.features.online.store import OnlineStore

__all__ = ["RedisOnlineStore"]

logger = logging.getLogger(__name__)

_CHUNK = 2000


class _MgetConnection:
    """One socket to Redis that only sends MGET (and the AUTH / SELECT of its URL)."""

    def __init__(self, url: str, timeout: float | None, spin_seconds: float = 0.0) -> None:
        self.spin_seconds = spin_seconds
        options = parse_url(url)
        self._sock = socket.create_connection(
            (options.get("host", "127.0.0.1"), int(options.get("port", 6379))), timeout=timeout
        )
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if options.get("password"):
                auth = [options["username"]] if options.get("username") else []
                self._call(b"AUTH", *[a.encode() for a in [*auth, options["password"]]])
            if options.get("db"):
                self._call(b"SELECT", str(options["db"]).encode())
        except BaseException:
            self.close()
            raise

    def _call(self, *parts: bytes) -> Any:
        out = [b"*%d\r\n" % len(parts)]
        for part in parts:
            out.append(b"$%d\r\n%s\r\n" % (len(part), part))
        self._sock.sendall(b"".join(out))
        reader = hiredis.Reader()
        while True:
            chunk = self._receive()
            if not chunk:
                raise redis.ConnectionError("Redis closed the connection")
            reader.feed(chunk)
            reply = reader.gets()
            if reply is not False:
                if isinstance(reply, hiredis.ReplyError):
                    raise redis.ResponseError(str(reply))
                return reply

    def _receive(self) -> bytes:
        # Poll without blocking for a short while first: the answer usually comes within it, and
        # a thread that does not sleep is not woken (waking an idle CPU costs more than the wait).
        if not self.spin_seconds:
            return self._sock.recv(65536)
        deadline = time.perf_counter() + self.spin_seconds
        while True:
            try:
                return self._sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if time.perf_counter() > deadline:
                    return self._sock.recv(65536)

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        return list(self._call(b"MGET", *[k.encode() for k in keys]))

    def close(self) -> None:
        self._sock.close()


class RedisOnlineStore(OnlineStore):
    """States as Redis strings under ``{key_prefix}:{feature set version}:{view}:{key}``.

    ``socket_timeout`` (seconds, default none) bounds connecting and each command:
    a request path sets a few milliseconds so a stalled Redis fails fast instead of
    holding the request. It applies to the client made on first use.

    ``read_spin_seconds`` (default 200 µs): after sending a checkout's MGET the
    reading thread polls its socket without sleeping for up to this long before it
    blocks. An answer from a nearby Redis usually arrives within it, and a thread
    that never slept need not be woken: on an otherwise idle 2-core VM that cuts
    the read's p99 (benchmarks/online_read.py: 0.66–0.74 ms, against 0.85 ms
    blocking at once). Where the
    reading processes share the cores with Redis and are busy (the decision
    service), polling takes the CPU Redis needs to answer, and the service sets
    0: block at once.
    """

    def __init__(
        self,
        *args: Any,
        url: str = "redis://127.0.0.1:6379/0",
        socket_timeout: float | None = None,
        read_spin_seconds: float = 0.0002,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.url = url
        self.socket_timeout = socket_timeout
        self.read_spin_seconds = read_spin_seconds
        self._plain_tcp = not url.startswith(("rediss://", "unix://"))
        self._client: redis.Redis[bytes] | None = None
        self._local = threading.local()
        self._readers: list[_MgetConnection] = []
        self._readers_lock = threading.Lock()

    @property
    def client(self) -> redis.Redis[bytes]:
        if self._client is None:
            if self.socket_timeout is None:
                client = redis.Redis.from_url(self.url)
            else:
                client = redis.Redis.from_url(
                    self.url,
                    socket_timeout=self.socket_timeout,
                    socket_connect_timeout=self.socket_timeout,
                    retry_on_timeout=False,
                )
            try:
                client.ping()
            except redis.ConnectionError as exc:
                raise OnlineStoreError(
                    f"Redis is not reachable at {self.url} ({exc}); start it or set online_store.url in the settings"
                ) from exc
            self._client = client
        return self._client

    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        """One MGET on this thread's own connection.

        A connection the server has closed since the last read (a restart, an
        idle timeout) is made again and the MGET sent once more — it only reads.
        A timeout is not retried: the caller's latency budget is spent.
        """
        if not keys:
            return []
        if not self._plain_tcp:  # TLS and Unix sockets: redis-py's client
            return list(self.client.mget(keys))
        held: _MgetConnection | None = getattr(self._local, "conn", None)
        try:
            return self._mget(held, keys)
        except redis.ConnectionError:
            if held is None:
                raise
            return self._mget(None, keys)  # the held connection had gone stale: one fresh attempt

    def _mget(self, conn: _MgetConnection | None, keys: Sequence[str]) -> list[bytes | None]:
        try:
            if conn is None:
                conn = self._local.conn = _MgetConnection(
                    self.url, self.socket_timeout, self.read_spin_seconds
                )
                with self._readers_lock:
                    self._readers.append(conn)
            return conn.mget(keys)
        except (OSError, redis.ConnectionError) as exc:
            self._drop_reader(conn)
            if isinstance(exc, socket.timeout):
                raise redis.TimeoutError(
                    f"Redis at {self.url} did not answer in {self.socket_timeout}s"
                ) from exc
            raise redis.ConnectionError(
                f"Redis is not reachable at {self.url} ({exc}); start it or set online_store.url in the settings"
            ) from exc
        except redis.ResponseError:
            raise
        except BaseException:
            # interrupted mid-reply: the connection may hold half an answer, so never reuse it
            self._drop_reader(conn)
            raise

    def _drop_reader(self, conn: _MgetConnection | None) -> None:
        self._local.conn = None
        if conn is not None:
            conn.close()
            with self._readers_lock:
                if conn in self._readers:
                    self._readers.remove(conn)

    def write(
        self, states: Mapping[str, tuple[bytes, int | None]], meta: Mapping[str, bytes] | None = None
    ) -> None:
        # one MULTI/EXEC: a crash leaves either the old states and watermark or the new ones
        pipe = self.client.pipeline(transaction=True)
        for key, (value, ttl_ms) in states.items():
            pipe.set(key, value, px=ttl_ms if ttl_ms else None)
        for name, value in (meta or {}).items():
            pipe.set(self.meta_key(name), value)
        pipe.execute()

    def write_bulk(self, states: Mapping[str, tuple[bytes, int | None]]) -> None:
        """Pipelined, non-transactional writes in chunks (for materialising many states)."""
        pipe = self.client.pipeline(transaction=False)
        for i, (key, (value, ttl_ms)) in enumerate(states.items(), 1):
            pipe.set(key, value, px=ttl_ms if ttl_ms else None)
            if i % _CHUNK == 0:
                pipe.execute()
        pipe.execute()

    def read_meta(self, name: str) -> bytes | None:
        value = self.client.get(self.meta_key(name))
        return None if value is None else bytes(value)

    def clear(self) -> None:
        keys = list(self.client.scan_iter(match=f"{self._namespace}*", count=5000))
        for start in range(0, len(keys), _CHUNK):
            self.client.delete(*keys[start : start + _CHUNK])

    def close(self) -> None:
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()
        self._local = threading.local()
        if self._client is not None:
            self._client.close()
            self._client = None
