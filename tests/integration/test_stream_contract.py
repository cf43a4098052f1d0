"""One contract for every stream adapter: in-process, Redis Streams (real Redis), Kafka (real Tansu broker)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from cartwise.streaming.events import StreamEvent
from cartwise.streaming.memory_stream import MemoryLog, MemoryStream
from cartwise.streaming.stream import EventStream
from cartwise.streaming.tansu import TansuBroker

StreamFactory = Callable[..., EventStream]


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    """A real Kafka-protocol broker on a free port for the whole session, stopped afterwards."""
    with TansuBroker() as broker:
        yield broker


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("kafka", marks=pytest.mark.kafka),
    ]
)
def make_stream(request: pytest.FixtureRequest) -> Iterator[StreamFactory]:
    """A factory of consumers on one fresh topic: ``make_stream(group=..., consumer=...)``."""
    opened: list[EventStream] = []
    topic = f"cw-test-{uuid.uuid4().hex[:8]}"
    if request.param == "memory":
        log = MemoryLog()

        def factory(group: str = "g", consumer: str = "c1") -> EventStream:
            return MemoryStream(log, group=group)

    elif request.param == "redis":
        from cartwise.streaming.redis_stream import RedisStream

        url = request.getfixturevalue("redis_url")

        def factory(group: str = "g", consumer: str = "c1") -> EventStream:
            return RedisStream(url, topic=topic, group=group, consumer=consumer)

    else:
        from cartwise.streaming.kafka_stream import KafkaStream

        broker: TansuBroker = request.getfixturevalue("tansu")

        def factory(group: str = "g", consumer: str = "c1") -> EventStream:
            return KafkaStream(broker.bootstrap_servers, topic=topic, group=group, assignment="assign")

    def tracked(group: str = "g", consumer: str = "c1") -> EventStream:
        stream = factory(group=group, consumer=consumer)
        opened.append(stream)
        return stream

    yield tracked
    for stream in opened:
        stream.close()


def _events(n: int, start: int = 0) -> list[StreamEvent]:
    return [
        StreamEvent(
            "checkouts",
            i,
            1_700_000_000_000_000 + i,
            {"checkout_id": i, "customer_id": i % 7, "tags": [1, 2]},
        )
        for i in range(start, start + n)
    ]


def _drain(stream: EventStream, expected: int, *, commit: bool) -> list[StreamEvent]:
    got: list[StreamEvent] = []
    for _ in range(50):
        if len(got) >= expected:
            break
        batch = stream.consume(max_events=100, timeout=0.5)
        got.extend(batch.events)
        if commit:
            stream.commit(batch)
    return got


def test_published_events_come_back_in_order_and_unchanged(make_stream: StreamFactory) -> None:
    stream = make_stream()
    sent = _events(250)
    stream.publish(sent)
    assert _drain(stream, 250, commit=True) == sent


def test_consume_on_an_empty_stream_returns_an_empty_batch(make_stream: StreamFactory) -> None:
    stream = make_stream()
    stream.publish(_events(3))
    _drain(stream, 3, commit=True)
    assert len(stream.consume(max_events=10, timeout=0.2)) == 0


def test_uncommitted_events_are_delivered_again_after_a_crash(make_stream: StreamFactory) -> None:
    first = make_stream()
    first.publish(_events(30))
    committed = first.consume(max_events=10, timeout=2.0)
    assert len(committed) > 0
    first.commit(committed)
    uncommitted = _drain(first, 30 - len(committed), commit=False)  # applied, then the process dies
    first.close()
    restarted = make_stream()
    again = _drain(restarted, len(uncommitted), commit=True)
    assert [e.event_id for e in again] == [e.event_id for e in uncommitted]
    assert {e.event_id for e in again}.isdisjoint(e.event_id for e in committed.events)


def test_committed_events_are_not_delivered_again(make_stream: StreamFactory) -> None:
    first = make_stream()
    first.publish(_events(40))
    assert len(_drain(first, 40, commit=True)) == 40
    first.close()
    restarted = make_stream()
    assert len(restarted.consume(max_events=100, timeout=0.5)) == 0
    restarted.publish(_events(5, start=40))
    assert [e.event_id for e in _drain(restarted, 5, commit=True)] == [40, 41, 42, 43, 44]


def test_groups_read_independently(make_stream: StreamFactory) -> None:
    features = make_stream(group="features")
    audit = make_stream(group="audit")
    features.publish(_events(20))
    assert len(_drain(features, 20, commit=True)) == 20
    assert len(_drain(audit, 20, commit=True)) == 20


@pytest.mark.redis
def test_redis_claims_entries_left_pending_by_a_dead_consumer(redis_url: str) -> None:
    from cartwise.streaming.redis_stream import RedisStream

    topic = f"cw-test-{uuid.uuid4().hex[:8]}"
    dead = RedisStream(redis_url, topic=topic, group="g", consumer="dead")
    dead.publish(_events(10))
    assert len(_drain(dead, 10, commit=False)) == 10
    dead.close()
    other = RedisStream(redis_url, topic=topic, group="g", consumer="other", claim_idle_ms=0)
    claimed = _drain(other, 10, commit=True)
    other.close()
    assert sorted(e.event_id for e in claimed) == list(range(10))
    assert other.lag() == 0


@pytest.mark.kafka
def test_kafka_consumer_group_subscription_reads_after_the_committed_offset(tansu: TansuBroker) -> None:
    from cartwise.streaming.kafka_stream import KafkaStream

    topic = f"cw-test-{uuid.uuid4().hex[:8]}"
    stream = KafkaStream(tansu.bootstrap_servers, topic=topic, group="g", assignment="assign")
    stream.publish(_events(10))
    assert len(_drain(stream, 10, commit=True)) == 10
    stream.publish(_events(5, start=10))
    stream.close()
    member = KafkaStream(tansu.bootstrap_servers, topic=topic, group="g", assignment="subscribe")
    got = _drain(member, 5, commit=True)
    member.close()
    assert [e.event_id for e in got] == [10, 11, 12, 13, 14]
