"""Deciding the checkouts that arrive together as one batch, inside a worker's event loop.

A worker answers one request at a time; while it works, other requests wait in
their sockets. :class:`Batcher` lets them be decided together: a request adds
itself to the pending batch and waits; the batch runs once the event loop has
let every request that is ready (every connection with a request read) add
itself. No timer is involved, so a lone request is decided as soon as the loop
turns (a few microseconds), and under load the batch is whatever queued up
while the previous one was being decided — the adaptive batching of model
servers, with no added wait.

Whatever goes wrong with one batch is contained: if deciding the batch raises,
each of its requests is decided again on its own, so only the request that
causes the failure fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher"]

logger = logging.getLogger(__name__)

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class Batcher(Generic[_In, _Out]):
    """``await batcher.submit(item)`` → ``run(batch)[position of item]``, batches formed by the event loop."""

    def __init__(
        self,
        run: Callable[[Sequence[_In]], Sequence[_Out]],
        *,
        max_batch: int = 64,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.run = run
        self.max_batch = max_batch
        self.on_batch = on_batch
        self._pending: list[tuple[_In, asyncio.Future[_Out]]] = []
        self._scheduled = False
        self.batches = 0
        self.items = 0

    def submit(self, item: _In) -> asyncio.Future[_Out]:
        """Queue ``item``; the future holds its answer (or the exception deciding it raised)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Out] = loop.create_future()
        self._pending.append((item, future))
        if not self._scheduled:
            self._scheduled = True
            # Two turns of the loop: the first lets the requests already read start and queue
            # themselves, the second runs the batch after them.
            loop.call_soon(loop.call_soon, self._flush)
        return future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self._scheduled = False
        for start in range(0, len(pending), self.max_batch):
            self._run(pending[start : start + self.max_batch])

    def _run(self, batch: list[tuple[_In, asyncio.Future[_Out]]]) -> None:
        live = [(item, future) for item, future in batch if not future.cancelled()]
        if not live:
            return
        self.batches += 1
        self.items += len(live)
        if self.on_batch is not None:
            self.on_batch(len(live))
        try:
            answers = self.run([item for item, _ in live])
            if len(answers) != len(live):
                raise RuntimeError(f"a batch of {len(live)} got {len(answers)} answers")
        except Exception as exc:
            if len(live) == 1:
                if not live[0][1].cancelled():
                    live[0][1].set_exception(exc)
                return
            logger.warning("a batch of %d failed; deciding its requests one by one", len(live), exc_info=True)
            for one in live:
                self._run([one])
            return
        for (_, future), answer in zip(live, answers, strict=True):
            if not future.cancelled():
                future.set_result(answer)
