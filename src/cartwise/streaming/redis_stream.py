"""Redis Streams adapter: XADD to publish, a consumer group to read, XACK to commit.

Entries a consumer has read but not acknowledged stay in the group's pending
list. A consumer starting under the same name first re-reads its own pending
entries; it also claims (XAUTOCLAIM) entries left pending by other consumers for
longer than ``claim_idle_ms``, so a crashed consumer's work is never lost.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

import redis

from cartwise.errors import StreamError
from cartwise.streaming.events import StreamEvent, decode_event, encode_event
from cartwise.streaming.stream import Batch, EventStream

__all__ = ["RedisStream"]

logger = logging.getLogger(__name__)

_FIELD = b"e"


class RedisStream(EventStream):
    """A consumer ``consumer`` of ``group`` on the Redis stream ``topic``."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        topic: str = "cartwise.events",
        group: str = "cartwise-features",
        consumer: str | None = None,
        claim_idle_ms: int = 30_000,
        max_len: int | None = None,
    ) -> None:
        self.url = url
        self.topic = topic
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = claim_idle_ms
        self.max_len = max_len
        self._client: redis.Redis[bytes] | None = None
        self._own_pending = True  # re-read our own unacknowledged entries first
        self._claim_cursor: bytes | str = "0-0"

    @property
    def client(self) -> redis.Redis[bytes]:
        if self._client is None:
            client = redis.Redis.from_url(self.url)
            try:
                client.xgroup_create(self.topic, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise StreamError(
                        f"cannot create consumer group {self.group!r} on {self.topic!r}: {exc}"
                    ) from exc
            except redis.ConnectionError as exc:
                raise StreamError(
                    f"Redis is not reachable at {self.url} ({exc}); start it or set stream.url in the settings"
                ) from exc
            self._client = client
        return self._client

    def publish(self, events: Sequence[StreamEvent]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for i, event in enumerate(events, 1):
            pipe.xadd(self.topic, {_FIELD: encode_event(event)}, maxlen=self.max_len, approximate=True)
            if i % 5000 == 0:
                pipe.execute()
        pipe.execute()

    def _decode(self, entries: list[Any]) -> tuple[list[StreamEvent], list[bytes]]:
        events: list[StreamEvent] = []
        ids: list[bytes] = []
        for entry_id, data in entries:
            ids.append(entry_id)
            if data:  # a deleted entry still pending comes back with no fields
                events.append(decode_event(data[_FIELD]))
        return events, ids

    def consume(self, max_events: int = 1000, timeout: float = 1.0) -> Batch:
        client = self.client
        if self._own_pending:
            reply = client.xreadgroup(self.group, self.consumer, {self.topic: "0"}, count=max_events)
            entries = reply[0][1] if reply else []
            if entries:
                events, ids = self._decode(entries)
                logger.info("re-reading %d unacknowledged entries of consumer %s", len(ids), self.consumer)
                return Batch(events, position=ids)
            self._own_pending = False
        claimed = client.xautoclaim(
            self.topic, self.group, self.consumer, self.claim_idle_ms, self._claim_cursor, count=max_events
        )
        self._claim_cursor = claimed[0]
        if claimed[1]:
            events, ids = self._decode(claimed[1])
            logger.info("claimed %d entries left pending by another consumer", len(ids))
            return Batch(events, position=ids)
        reply = client.xreadgroup(
            self.group, self.consumer, {self.topic: ">"}, count=max_events, block=max(1, int(timeout * 1000))
        )
        entries = reply[0][1] if reply else []
        events, ids = self._decode(entries)
        return Batch(events, position=ids)

    def commit(self, batch: Batch) -> None:
        ids = list(batch.position or [])
        for start in range(0, len(ids), 10_000):
            self.client.xack(self.topic, self.group, *ids[start : start + 10_000])  # type: ignore[no-untyped-call]

    def lag(self) -> int | None:
        for group in self.client.xinfo_groups(self.topic):  # type: ignore[no-untyped-call]
            if group["name"] in (self.group, self.group.encode()):
                pending = int(group.get("pending", 0) or 0)
                lag = group.get("lag")
                return pending + (int(lag) if lag is not None else 0)
        return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self._own_pending = True
        self._claim_cursor = "0-0"
