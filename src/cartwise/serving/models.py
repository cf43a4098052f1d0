"""The models being served: an immutable snapshot swapped atomically, hot reload and shadow scoring.

A request reads ``manager.snapshot`` once and uses that object to the end, so a
swap in the middle of a request never mixes versions or fails it. A background
poller asks the model source which version each alias points at and, when the
champion changes, loads the new one off the request path and swaps it in.
The challenger, when there is one, is scored in shadow on a single background
thread behind a bounded queue (full → skipped, never slowing a request).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cartwise.serving.ports import LoadedModel, ModelSource

__all__ = ["CHALLENGER", "CHAMPION", "MODELS", "ModelManager", "ModelSnapshot"]

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"
MODELS = ("fraud", "credit", "recs")


@dataclass(frozen=True)
class ModelSnapshot:
    """Champions (and challengers) loaded together; never mutated after it is built."""

    champions: Mapping[str, LoadedModel]
    challengers: Mapping[str, LoadedModel]

    def scorer(self, model: str) -> Any:
        return self.champions[model].scorer

    def version(self, model: str) -> str:
        return self.champions[model].version


class ModelManager:
    """Loads champions at start, polls for new ones, and scores challengers in shadow."""

    def __init__(
        self,
        source: ModelSource,
        *,
        models: tuple[str, ...] = MODELS,
        poll_seconds: float = 10.0,
        shadow_queue: int = 1000,
        on_swap: Callable[[ModelSnapshot], None] | None = None,
    ) -> None:
        self.source = source
        self.models = models
        self.poll_seconds = poll_seconds
        self.on_swap = on_swap
        self._snapshot: ModelSnapshot | None = None
        self.not_ready_reason: str | None = "models are not loaded yet"
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._shadow = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow")
        self._shadow_slots = threading.BoundedSemaphore(shadow_queue)
        self.shadow_skipped = 0
        self.reloads = 0
        self._swap_lock = threading.Lock()

    @property
    def snapshot(self) -> ModelSnapshot | None:
        return self._snapshot

    # -- loading ---------------------------------------------------------------
    def load(self) -> bool:
        """Load every champion (and challenger, if set); True when serving is possible."""
        champions: dict[str, LoadedModel] = {}
        problems: list[str] = []
        for model in self.models:
            try:
                champions[model] = self.source.load(model, CHAMPION)
            except Exception as exc:  # the registry's errors carry the reason
                problems.append(f"{model}@{CHAMPION}: {exc}")
        if problems:
            self.not_ready_reason = "; ".join(problems)
            logger.error("not ready: %s", self.not_ready_reason)
            return False
        challengers = self._load_challengers()
        self._swap(ModelSnapshot(champions, challengers))
        self.not_ready_reason = None
        return True

    def _load_challengers(self, current: Mapping[str, LoadedModel] | None = None) -> dict[str, LoadedModel]:
        out: dict[str, LoadedModel] = {}
        for model in self.models:
            try:
                version = self.source.version_of(model, CHALLENGER)
                if version is None:
                    continue
                if current and model in current and current[model].version == version:
                    out[model] = current[model]
                else:
                    out[model] = self.source.load(model, CHALLENGER)
            except Exception as exc:
                logger.warning("challenger %s not loaded: %s", model, exc)
        return out

    def _swap(self, snapshot: ModelSnapshot) -> None:
        with self._swap_lock:
            self._snapshot = snapshot  # one reference assignment: atomic for readers
        if self.on_swap is not None:
            self.on_swap(snapshot)
        logger.info(
            "serving %s",
            ", ".join(f"{m}@{CHAMPION}=v{lm.version}" for m, lm in snapshot.champions.items())
            + "".join(f", {m}@{CHALLENGER}=v{lm.version}" for m, lm in snapshot.challengers.items()),
        )

    def check_for_updates(self) -> bool:
        """Load any champion or challenger whose alias moved; True if the snapshot changed."""
        current = self._snapshot
        if current is None:
            return self.load()
        champions = dict(current.champions)
        changed = False
        for model in self.models:
            try:
                version = self.source.version_of(model, CHAMPION)
                if version is not None and version != champions[model].version:
                    champions[model] = self.source.load(model, CHAMPION)
                    changed = True
            except Exception as exc:  # keep serving what we have
                logger.warning("could not check %s@%s: %s", model, CHAMPION, exc)
        challengers = self._load_challengers(current.challengers)
        if {m: c.version for m, c in challengers.items()} != {
            m: c.version for m, c in current.challengers.items()
        }:
            changed = True
        if changed:
            self._swap(ModelSnapshot(champions, challengers))
            self.reloads += 1
        return changed

    # -- background work ---------------------------------------------------------
    def start_polling(self) -> None:
        if self._poller is None and self.poll_seconds > 0:
            self._poller = threading.Thread(target=self._poll_loop, name="model-poller", daemon=True)
            self._poller.start()

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.check_for_updates()
            except Exception:
                logger.exception("model poll failed")

    def shadow(self, task: Callable[[], None]) -> bool:
        """Run ``task`` on the shadow thread; False (skipped) when the shadow backlog is full."""
        if not self._shadow_slots.acquire(blocking=False):
            self.shadow_skipped += 1
            return False

        def run() -> None:
            try:
                task()
            except Exception:
                logger.exception("shadow scoring failed")
            finally:
                self._shadow_slots.release()

        self._shadow.submit(run)
        return True

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None
        self._shadow.shutdown(wait=True)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (for tests and startup)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
