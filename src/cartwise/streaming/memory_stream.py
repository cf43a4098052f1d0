"""In-process stream: a shared log with one committed offset per consumer group.

The embedded default. A :class:`MemoryLog` outlives the consumers made on it,
so a consumer closed without committing (a crash) leaves its events for the
next consumer of the same group, as a broker would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from cartwise.streaming.events import StreamEvent
from cartwise.streaming.stream import Batch, EventStream

__all__ = ["MemoryLog", "MemoryStream"]


class MemoryLog:
    """The events of one topic, in publish order, and each group's committed offset."""

    def __init__(self) -> None:
        self.events: list[StreamEvent] = []
        self.committed: dict[str, int] = {}
        self.lock = threading.Condition()


class MemoryStream(EventStream):
    """A consumer of ``group`` (and a producer) on a :class:`MemoryLog`."""

    def __init__(self, log: MemoryLog | None = None, *, group: str = "cartwise-features") -> None:
        self.log = log if log is not None else MemoryLog()
        self.group = group
        self._read_to: int | None = None  # end of what this consumer has been given

    def publish(self, events: Sequence[StreamEvent]) -> None:
        with self.log.lock:
            self.log.events.extend(events)
            self.log.lock.notify_all()

    def consume(self, max_events: int = 1000, timeout: float = 1.0) -> Batch:
        deadline = time.monotonic() + timeout
        with self.log.lock:
            start = self._read_to if self._read_to is not None else self.log.committed.get(self.group, 0)
            while len(self.log.events) <= start:
                left = deadline - time.monotonic()
                if left <= 0:
                    return Batch([], position=start, lag=0)
                self.log.lock.wait(left)
            end = min(len(self.log.events), start + max_events)
            self._read_to = end
            return Batch(self.log.events[start:end], position=end, lag=len(self.log.events) - end)

    def commit(self, batch: Batch) -> None:
        with self.log.lock:
            end = int(batch.position)
            if end > self.log.committed.get(self.group, 0):
                self.log.committed[self.group] = end

    def lag(self) -> int:
        with self.log.lock:
            return len(self.log.events) - self.log.committed.get(self.group, 0)

    def close(self) -> None:
        self._read_to = None
