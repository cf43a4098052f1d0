"""The stream port: publish events, consume them in batches, commit what was applied.

A consumer belongs to a group. Events it has consumed but not committed are
delivered again to the next consumer of the group (after a crash, a restart or a
rebalance), so a processor that applies a batch and then commits it sees every
event at least once; the processor makes the second application a no-op.
The committed position of the group is its checkpoint.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from cartwise.streaming.events import StreamEvent

__all__ = ["Batch", "EventStream"]


@dataclass(frozen=True)
class Batch:
    """Events consumed together, and what the adapter needs to commit them."""

    events: Sequence[StreamEvent]
    position: Any = None
    """Adapter-specific: offsets per partition, message ids to acknowledge."""
    lag: int | None = None
    """Events left behind this batch when it was read, where the backend tells."""
    partitions: Sequence[int] | None = None
    """The partition each event was read from, where the backend has partitions (Kafka).

    Partitions are read at different paces (a consumer catching up on a backlog may
    take a long run of one partition first), so the processor judges an event's
    lateness against its own partition's newest event, not the whole stream's.
    """
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.events)


class EventStream(abc.ABC):
    """A named topic of :class:`StreamEvent`, read by one consumer group."""

    @abc.abstractmethod
    def publish(self, events: Sequence[StreamEvent]) -> None:
        """Append events to the stream (in order) and wait until the backend holds them."""

    @abc.abstractmethod
    def consume(self, max_events: int = 1000, timeout: float = 1.0) -> Batch:
        """Up to ``max_events`` events not yet committed by the group; empty after ``timeout`` s."""

    @abc.abstractmethod
    def commit(self, batch: Batch) -> None:
        """Checkpoint: the group will not be given ``batch`` (or anything before it) again."""

    def lag(self) -> int | None:
        """Events published but not yet committed by the group, where the backend tells."""
        return None

    def close(self) -> None:  # noqa: B027 - optional: adapters without connections keep it
        """Leave the group without committing; uncommitted events go to the next consumer."""

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
