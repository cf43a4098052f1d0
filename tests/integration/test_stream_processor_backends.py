"""The stream processor end to end on real backends: Redis Streams + Redis store, Kafka (Tansu) + in-process store.

Each test crashes a processor between applying a batch and committing it, then
restarts one, and checks that nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from cartwise.features.definitions import Aggregation, Entity, EventSource, FeatureSet, FeatureView
from cartwise.features.online.memory import MemoryOnlineStore
from cartwise.features.online.store import OnlineStore
from cartwise.streaming.events import StreamEvent
from cartwise.streaming.processor import StreamProcessor
from cartwise.streaming.stream import EventStream
from cartwise.streaming.tansu import TansuBroker

MINUTE = 60_000_000
T0 = 1_767_225_600_000_000
FEATURES = FeatureSet(
    views=(
        FeatureView(
            "customer_velocity",
            EventSource("checkouts", "checkouts", "created_at"),
            (Entity("customer", "customer_id"),),
            (
                Aggregation("count", windows=("1h", "24h")),
                Aggregation("sum", "amount_minor", windows=("24h",)),
            ),
        ),
    ),
    name="test",
)


def _checkouts(n: int, start: int = 0) -> list[StreamEvent]:
    return [
        StreamEvent(
            "checkouts",
            i,
            T0 + i * MINUTE,
            {"checkout_id": i, "customer_id": i % 3, "created_at": T0 + i * MINUTE, "amount_minor": 100 + i},
        )
        for i in range(start, start + n)
    ]


def _totals(store: OnlineStore) -> tuple[float, float]:
    at = T0 + 24 * 60 * MINUTE
    counts = sums = 0.0
    for customer in range(3):
        features = store.get_online_features({"customer_id": customer}, at)
        counts += features["customer__checkouts__count__24h"] or 0
        sums += features["customer__amount_minor__sum__24h"] or 0
    return counts, sums


def _crash_then_restart(store: OnlineStore, make_stream, n: int) -> StreamProcessor:  # type: ignore[no-untyped-def]
    producer: EventStream = make_stream()
    producer.publish(_checkouts(n))
    doomed = StreamProcessor(store, producer, batch_size=n // 2)
    assert doomed.step() > 0  # one batch applied and committed
    batch = producer.consume(n // 4, timeout=5.0)
    assert len(batch) > 0
    doomed.apply(batch.events)  # applied; the process dies before committing it
    producer.close()
    restarted = StreamProcessor(store, make_stream(), batch_size=n // 2, poll_timeout=0.2)
    restarted.run(idle_timeout=1.0)
    assert restarted.metrics.duplicate_rows == len(batch)
    return restarted


@pytest.mark.redis
def test_redis_streams_into_the_redis_store_counts_each_event_once(redis_url: str) -> None:
    from cartwise.features.online.redis_store import RedisOnlineStore
    from cartwise.streaming.redis_stream import RedisStream

    prefix = f"t{uuid.uuid4().hex[:6]}"
    store = RedisOnlineStore(
        FEATURES, url=redis_url, key_prefix=prefix, allowed_lateness=dt.timedelta(days=2)
    )

    def make_stream() -> RedisStream:
        return RedisStream(redis_url, topic=f"{prefix}.events", group="g", consumer="processor-1")

    n = 40
    _crash_then_restart(store, make_stream, n)
    assert _totals(store) == (n, sum(100 + i for i in range(n)))
    assert make_stream().lag() == 0
    store.clear()
    store.close()


@pytest.fixture(scope="module")
def tansu() -> Iterator[TansuBroker]:
    """A real Kafka-protocol broker on a free port, stopped after the module."""
    with TansuBroker() as broker:
        yield broker


@pytest.mark.kafka
def test_kafka_into_the_in_process_store_counts_each_event_once(tansu: TansuBroker) -> None:
    from cartwise.streaming.kafka_stream import KafkaStream

    topic = f"cw-{uuid.uuid4().hex[:6]}"
    store = MemoryOnlineStore(FEATURES, allowed_lateness=dt.timedelta(days=2))

    def make_stream() -> KafkaStream:
        return KafkaStream(tansu.bootstrap_servers, topic=topic, group="g", assignment="assign")

    n = 200
    restarted = _crash_then_restart(store, make_stream, n)
    assert _totals(store) == (n, sum(100 + i for i in range(n)))
    restarted.stream.close()


@pytest.mark.kafka
@pytest.mark.parametrize("ahead_partition", [0, 1])
def test_a_kafka_partition_read_behind_the_others_loses_nothing(
    tansu: TansuBroker, ahead_partition: int
) -> None:
    """Two partitions 10 h apart in event time, 1 h allowed lateness: every event is applied.

    With one watermark for the whole topic, whichever partition the consumer read
    second would have been dropped as too late; both orientations are run, since
    the order in which the client reads the partitions is its own.
    """
    from cartwise.streaming.events import encode_event
    from cartwise.streaming.kafka_stream import KafkaStream

    topic = f"cw-{uuid.uuid4().hex[:6]}"
    stream = KafkaStream(tansu.bootstrap_servers, topic=topic, group="g", partitions=2, assignment="assign")
    shift = 600 * MINUTE
    ahead = [
        StreamEvent(
            e.source, e.event_id, e.event_time + shift, {**e.fields, "created_at": e.event_time + shift}
        )
        for e in _checkouts(30)
    ]
    behind = _checkouts(30, start=30)
    producer = stream.producer
    for partition, events in ((ahead_partition, ahead), (1 - ahead_partition, behind)):
        for event in events:
            producer.produce(topic, encode_event(event), partition=partition)
    assert producer.flush(30) == 0
    store = MemoryOnlineStore(FEATURES, allowed_lateness=dt.timedelta(hours=1))
    processor = StreamProcessor(store, stream, batch_size=10, poll_timeout=0.2)
    processor.run(idle_timeout=1.0)
    assert processor.metrics.events == 60
    assert processor.metrics.too_late == 0
    assert processor.partition_watermarks_us == {
        ahead_partition: ahead[-1].event_time,
        1 - ahead_partition: behind[-1].event_time,
    }
    assert _totals(store) == (60, sum(e.fields["amount_minor"] for e in ahead + behind))
    stream.close()
