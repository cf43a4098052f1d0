"""In-process online store: a dict in this process. The embedded default."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from cartwise.features.online.store import OnlineStore

__all__ = ["MemoryOnlineStore"]


class MemoryOnlineStore(OnlineStore):
    """States in a dict; expired keys are dropped when read or overwritten."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._meta: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        now = time.monotonic()
        out: list[bytes | None] = []
        data = self._data
        for key in keys:
            item = data.get(key)
            if item is None or (item[1] is not None and item[1] < now):
                out.append(None)
            else:
                out.append(item[0])
        return out

    def write(
        self, states: Mapping[str, tuple[bytes, int | None]], meta: Mapping[str, bytes] | None = None
    ) -> None:
        now = time.monotonic()
        with self._lock:  # one lock: a batch of states and its watermark change together
            for key, (value, ttl_ms) in states.items():
                self._data[key] = (value, None if ttl_ms is None else now + ttl_ms / 1000)
            if meta:
                self._meta.update(meta)

    def read_meta(self, name: str) -> bytes | None:
        return self._meta.get(name)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._meta.clear()

    def __len__(self) -> int:
        return len(self._data)
