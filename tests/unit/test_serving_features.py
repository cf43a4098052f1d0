"""Feature readers against the real Redis, and the circuit breaker for when it is down."""

from __future__ import annotations

import time
import uuid

import pytest

from cartwise.errors import OnlineStoreError
from cartwise.serving.features import CircuitBreaker, CircuitOpenError, RedisHashReader
from cartwise.serving.ports import CheckoutFacts

FACTS = CheckoutFacts(1, 11, 22, "dev-x", 1000, 1, "pay_in_4", "card", 1_764_000_000_000_000)


@pytest.mark.redis
def test_one_round_trip_reads_every_entity() -> None:
    prefix = f"cwtest:{uuid.uuid4().hex[:8]}"
    reader = RedisHashReader(
        "redis://127.0.0.1:6379/14",
        key_prefix=prefix,
        customer_fields=("orders", "late"),
        merchant_fields=("cb_rate",),
        device_fields=("customers",),
    )
    try:
        reader.write("customer", 11, {"orders": 4, "late": 0.5})
        reader.write("device", "dev-x", {"customers": 2})
        assert reader.read(FACTS) == {"orders": 4.0, "late": 0.5, "cb_rate": None, "customers": 2.0}
    finally:
        for key in reader._client.scan_iter(f"{prefix}:*"):
            reader._client.delete(key)
        reader.close()


def test_unreachable_store_fails_fast_and_opens_the_circuit() -> None:
    reader = RedisHashReader("redis://127.0.0.1:1/0", customer_fields=("orders",), timeout_seconds=0.01)
    breaker = CircuitBreaker(reader, failures=2, cooldown_seconds=0.2)
    for _ in range(2):
        start = time.perf_counter()
        with pytest.raises(OnlineStoreError):
            breaker.read(FACTS)
        assert time.perf_counter() - start < 0.5
    assert breaker.is_open
    with pytest.raises(CircuitOpenError):
        breaker.read(FACTS)
    time.sleep(0.25)
    assert not breaker.is_open
    with pytest.raises(OnlineStoreError):  # one trial call goes through again, and fails
        breaker.read(FACTS)


def test_breaker_closes_after_a_success() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.fail = True

        def read(self, facts: CheckoutFacts) -> dict[str, float | None]:
            if self.fail:
                raise OnlineStoreError("down")
            return {"x": 1.0}

        def close(self) -> None:
            pass

    flaky = Flaky()
    breaker = CircuitBreaker(flaky, failures=1, cooldown_seconds=0.05)
    with pytest.raises(OnlineStoreError):
        breaker.read(FACTS)
    assert breaker.is_open
    time.sleep(0.06)
    flaky.fail = False
    assert breaker.read(FACTS) == {"x": 1.0}
    assert not breaker.is_open
