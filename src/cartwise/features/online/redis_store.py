"""Redis online store (redis-py with hiredis): MGET for a checkout, MULTI/EXEC for a batch of updates."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from cartwise.errors import OnlineStoreError
from cartwise.features.online.store import OnlineStore

__all__ = ["RedisOnlineStore"]

logger = logging.getLogger(__name__)

_CHUNK = 2000


class RedisOnlineStore(OnlineStore):
    """States as Redis strings under ``{key_prefix}:{feature set version}:{view}:{key}``.

    ``socket_timeout`` (seconds, default none) bounds connecting and each command:
    a request path sets a few milliseconds so a stalled Redis fails fast instead of
    holding the request. It applies to the client made on first use.
    """

    def __init__(
        self,
        *args: Any,
        url: str = "redis://127.0.0.1:6379/0",
        socket_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.url = url
        self.socket_timeout = socket_timeout
        self._client: redis.Redis[bytes] | None = None

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
        if not keys:
            return []
        return list(self.client.mget(keys))

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
        if self._client is not None:
            self._client.close()
            self._client = None
