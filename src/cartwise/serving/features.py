"""Online feature readers for the service, and the circuit breaker that keeps decisions fast when they fail.

* :class:`OnlineStoreReader` reads the feature catalog from cartwise's online store
  (:mod:`cartwise.features.online`), in one round trip, with short socket timeouts
  when the store is Redis.
* :class:`RedisHashReader` reads plain Redis hashes per entity
  (``{prefix}:customer:{id}``, ``{prefix}:merchant:{id}``, ``{prefix}:device:{id}``)
  with one pipelined HMGET round trip: the layout an external feature pipeline can write.
* :class:`CircuitBreaker` wraps either: after ``failures`` errors in a row it stops
  calling the store for ``cooldown_seconds`` (the decision uses safe defaults and is
  flagged degraded), then lets one call through to test it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, TypeVar

from cartwise.errors import OnlineStoreError
from cartwise.serving.ports import CheckoutFacts, FeatureReader

__all__ = ["CircuitBreaker", "CircuitOpenError", "OnlineStoreReader", "RedisHashReader", "read_many"]

_T = TypeVar("_T")


def read_many(reader: FeatureReader, facts: Sequence[CheckoutFacts]) -> list[dict[str, float | None]]:
    """The features of several checkouts: the reader's ``read_many`` when it has one, else one read each."""
    many = getattr(reader, "read_many", None)
    if many is not None:
        return list(many(facts))
    return [reader.read(one) for one in facts]


logger = logging.getLogger(__name__)


class CircuitOpenError(OnlineStoreError):
    """The online store failed repeatedly; it is not called until the cool-down ends."""


class RedisHashReader:
    """Entity hashes in Redis, read with one pipelined HMGET per entity in a single round trip."""

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "cw:serving",
        customer_fields: Sequence[str] = (),
        merchant_fields: Sequence[str] = (),
        device_fields: Sequence[str] = (),
        timeout_seconds: float = 0.015,
    ) -> None:
        import redis

        self.url = url
        self.key_prefix = key_prefix
        self.fields = {
            "customer": tuple(customer_fields),
            "merchant": tuple(merchant_fields),
            "device": tuple(device_fields),
        }
        # Short timeouts: a slow store must cost at most a few ms of the decision's budget.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry_on_timeout=False,
        )

    def _keys(self, facts: CheckoutFacts) -> list[tuple[str, str]]:
        return [
            ("customer", f"{self.key_prefix}:customer:{facts.customer_id}"),
            ("merchant", f"{self.key_prefix}:merchant:{facts.merchant_id}"),
            ("device", f"{self.key_prefix}:device:{facts.device_id}"),
        ]

    def read(
        self, facts: CheckoutFacts, *, features: Collection[str] | None = None
    ) -> dict[str, float | None]:
        import redis

        pipe = self._client.pipeline(transaction=False)
        wanted = [(entity, key) for entity, key in self._keys(facts) if self.fields[entity]]
        for entity, key in wanted:
            pipe.hmget(key, self.fields[entity])
        try:
            results = pipe.execute()
        except redis.RedisError as exc:
            raise OnlineStoreError(f"online store at {self.url} failed: {type(exc).__name__}") from exc
        out: dict[str, float | None] = {}
        for (entity, _), values in zip(wanted, results, strict=True):
            for name, raw in zip(self.fields[entity], values, strict=True):
                out[name] = None if raw is None else float(raw)
        return out

    def write(self, entity: str, entity_id: Any, values: dict[str, float]) -> None:
        """Set an entity's features (used by loaders and tests)."""
        self._client.hset(f"{self.key_prefix}:{entity}:{entity_id}", mapping=values)  # type: ignore[arg-type]

    def close(self) -> None:
        self._client.close()


class OnlineStoreReader:
    """cartwise's online store (memory or Redis), read for a checkout's customer, device and merchant.

    :meth:`restrict` narrows the read to the features the served models use
    (the service calls it whenever the models change): fewer views fetched and
    decoded, fewer aggregations computed.
    """

    def __init__(self, store: Any, *, timeout_seconds: float = 0.015) -> None:
        self.store = store
        self.features: frozenset[str] | None = None
        if hasattr(store, "socket_timeout"):
            # serving needs short timeouts: a stalled store must cost only a few ms
            store.socket_timeout = timeout_seconds
        if hasattr(store, "read_spin_seconds"):
            # the workers share the cores with Redis and with each other: a thread polling for
            # Redis's answer takes the CPU that answer needs (recommendations at low concurrency
            # fell by about half with it in a serving benchmark run), so the service blocks at once
            store.read_spin_seconds = 0.0

    def restrict(self, features: Iterable[str] | None) -> None:
        """Read only ``features`` (and what derived ones need) from now on; None reads all."""
        self.features = None if features is None else frozenset(features)

    def read(
        self, facts: CheckoutFacts, *, features: Collection[str] | None = None
    ) -> dict[str, float | None]:
        """The served features (see :meth:`restrict`), or only ``features`` when given."""
        return self.read_many([facts], features=features)[0]

    def read_many(
        self, facts: Sequence[CheckoutFacts], *, features: Collection[str] | None = None
    ) -> list[dict[str, float | None]]:
        """:meth:`read` for several checkouts at once: one round trip for all of them."""
        import redis

        wanted = self.features if features is None else frozenset(features)
        keys = [
            {
                "customer_id": one.customer_id,
                "device_id": one.device_id,
                "payment_instrument_id": one.payment_instrument_id,
                "ip_hash": one.ip_hash,
                "shipping_address_hash": one.shipping_address_hash,
                "merchant_id": one.merchant_id,
                "product_id": one.product_id,
            }
            for one in facts
        ]
        try:
            return list(
                self.store.get_online_features_many(keys, [one.at_us for one in facts], features=wanted)
            )
        except redis.RedisError as exc:
            raise OnlineStoreError(f"online store failed: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.store.close()


class CircuitBreaker:
    """Stops calling a failing feature reader for a while, so degraded answers stay fast."""

    def __init__(self, reader: FeatureReader, *, failures: int = 3, cooldown_seconds: float = 2.0) -> None:
        self.reader = reader
        self.failures = failures
        self.cooldown_seconds = cooldown_seconds
        self._consecutive = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def read(
        self, facts: CheckoutFacts, *, features: Collection[str] | None = None
    ) -> dict[str, float | None]:
        return self._guarded(
            lambda: (
                self.reader.read(facts) if features is None else self.reader.read(facts, features=features)
            )
        )

    def read_many(self, facts: Sequence[CheckoutFacts]) -> list[dict[str, float | None]]:
        """The features of several checkouts, in one call to the reader (see :func:`read_many`)."""
        return self._guarded(lambda: read_many(self.reader, facts))

    def _guarded(self, call: Callable[[], _T]) -> _T:
        if self._open_until and time.monotonic() < self._open_until:
            raise CircuitOpenError("online store circuit is open after repeated failures")
        try:
            values = call()
        except Exception:
            with self._lock:
                self._consecutive += 1
                if self._consecutive >= self.failures:
                    self._open_until = time.monotonic() + self.cooldown_seconds
                    logger.warning(
                        "online store failed %d times in a row; using defaults for %.1fs",
                        self._consecutive,
                        self.cooldown_seconds,
                    )
            raise
        if self._consecutive:
            with self._lock:
                self._consecutive = 0
                self._open_until = 0.0
        return values

    def restrict(self, features: Iterable[str] | None) -> None:
        """Pass the served models' features on to the reader, when it can narrow its reads."""
        restrict = getattr(self.reader, "restrict", None)
        if restrict is not None:
            restrict(features)

    def close(self) -> None:
        self.reader.close()
