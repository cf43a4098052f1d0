"""The stream processor on the in-process stream and store: exactly-once in effect, restarts, lateness."""

from __future__ import annotations

import datetime as dt

import pytest

from cartwise.errors import StreamError
from cartwise.features.definitions import Aggregation, Entity, EventSource, FeatureSet, FeatureView
from cartwise.features.online.memory import MemoryOnlineStore
from cartwise.streaming.events import StreamEvent, decode_event, encode_event
from cartwise.streaming.memory_stream import MemoryLog, MemoryStream
from cartwise.streaming.processor import StreamProcessor

MINUTE = 60_000_000
HOUR = 60 * MINUTE
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
COUNT_24H = "customer__checkouts__count__24h"
SUM_24H = "customer__amount_minor__sum__24h"


def checkout(checkout_id: int, at_us: int, customer_id: int = 1, amount: int = 100) -> StreamEvent:
    fields = {
        "checkout_id": checkout_id,
        "customer_id": customer_id,
        "created_at": at_us,
        "amount_minor": amount,
    }
    return StreamEvent("checkouts", checkout_id, at_us, fields)


@pytest.fixture
def store() -> MemoryOnlineStore:
    return MemoryOnlineStore(FEATURES, allowed_lateness=dt.timedelta(hours=1))


def _features(store: MemoryOnlineStore, at_us: int) -> dict[str, float | None]:
    return store.get_online_features({"customer_id": 1}, at_us)


def test_redelivered_events_are_applied_once(store: MemoryOnlineStore) -> None:
    log = MemoryLog()
    first = MemoryStream(log)
    first.publish([checkout(i, T0 + i * MINUTE) for i in range(10)])
    processor = StreamProcessor(store, first, batch_size=4)
    batch = first.consume(4)
    processor.apply(batch.events)  # applied, then the process dies before committing
    first.close()
    restarted = StreamProcessor(store, MemoryStream(log), batch_size=4)
    restarted.run(idle_timeout=0.05)
    features = _features(store, T0 + HOUR)
    assert features[COUNT_24H] == 10
    assert features[SUM_24H] == 1000
    assert restarted.metrics.duplicate_rows == 4
    assert log.committed["cartwise-features"] == 10


def test_restart_resumes_from_the_checkpoint_without_double_counting(store: MemoryOnlineStore) -> None:
    log = MemoryLog()
    stream = MemoryStream(log)
    stream.publish([checkout(i, T0 + i * MINUTE) for i in range(6)])
    StreamProcessor(store, stream, batch_size=3).run(idle_timeout=0.05)
    assert store.watermark_us == T0 + 5 * MINUTE
    stream.publish([checkout(i, T0 + i * MINUTE) for i in range(6, 9)])
    restarted = StreamProcessor(store, MemoryStream(log), batch_size=3)
    assert restarted.watermark_us == T0 + 5 * MINUTE  # restored from the store's checkpoint
    restarted.run(idle_timeout=0.05)
    assert restarted.metrics.events == 3
    assert _features(store, T0 + HOUR)[COUNT_24H] == 9


def test_a_late_event_within_the_allowed_lateness_is_applied_in_its_place(store: MemoryOnlineStore) -> None:
    processor = StreamProcessor(store, MemoryStream())
    processor.apply([checkout(1, T0), checkout(2, T0 + 2 * HOUR)])
    processor.apply([checkout(3, T0 + 90 * MINUTE)])  # 30 min behind the newest event: within 1 h
    assert processor.metrics.too_late == 0
    at = T0 + 2 * HOUR + 1
    features = _features(store, at)
    assert features["customer__checkouts__count__1h"] == 2  # the late one (T0+90m) and T0+2h
    assert features[COUNT_24H] == 3


def test_an_event_later_than_the_allowed_lateness_is_dropped_and_counted(store: MemoryOnlineStore) -> None:
    processor = StreamProcessor(store, MemoryStream())
    processor.apply([checkout(1, T0 + 5 * HOUR)])
    processor.apply([checkout(2, T0 + 3 * HOUR)])  # 2 h behind: beyond the 1 h lateness
    assert processor.metrics.too_late == 1
    assert _features(store, T0 + 6 * HOUR)[COUNT_24H] == 1


def test_lateness_is_judged_per_partition(store: MemoryOnlineStore) -> None:
    """A partition read behind the others (a consumer catching up on a backlog) loses nothing."""
    processor = StreamProcessor(store, MemoryStream())
    processor.apply([checkout(1, T0 + 5 * HOUR), checkout(2, T0 + 6 * HOUR)], partitions=[0, 0])
    # Partition 1 is 4-5 h behind partition 0, beyond the 1 h lateness, but not behind itself.
    processor.apply([checkout(3, T0 + HOUR), checkout(4, T0 + 2 * HOUR)], partitions=[1, 1])
    assert processor.metrics.too_late == 0
    assert processor.partition_watermarks_us == {0: T0 + 6 * HOUR, 1: T0 + 2 * HOUR}
    assert store.watermark_us == T0 + 6 * HOUR  # the checkpoint is the newest of all
    # Within a partition the rule is unchanged: 2 h behind partition 0's newest is too late...
    processor.apply([checkout(5, T0 + 4 * HOUR)], partitions=[0])
    assert processor.metrics.too_late == 1
    # ...and 30 min behind partition 1's is in time.
    processor.apply([checkout(6, T0 + 90 * MINUTE)], partitions=[1])
    assert processor.metrics.too_late == 1
    assert _features(store, T0 + 7 * HOUR)[COUNT_24H] == 5
    # The same events without partitions (one watermark) would have lost partition 1's.
    single = MemoryOnlineStore(FEATURES, allowed_lateness=dt.timedelta(hours=1))
    one = StreamProcessor(single, MemoryStream())
    one.apply([checkout(1, T0 + 5 * HOUR), checkout(2, T0 + 6 * HOUR)])
    one.apply([checkout(3, T0 + HOUR), checkout(4, T0 + 2 * HOUR)])
    assert one.metrics.too_late == 2


def test_partitions_must_match_the_events(store: MemoryOnlineStore) -> None:
    processor = StreamProcessor(store, MemoryStream())
    with pytest.raises(StreamError, match="2 events came with 1 partitions"):
        processor.apply([checkout(1, T0), checkout(2, T0)], partitions=[0])
    assert processor.metrics.events == 0


def test_events_of_tables_no_view_reads_are_ignored(store: MemoryOnlineStore) -> None:
    processor = StreamProcessor(store, MemoryStream())
    processor.apply([StreamEvent("merchants", 1, T0, {"merchant_id": 1})])
    assert processor.metrics.ignored == 1


def test_a_malformed_event_is_refused_with_its_column() -> None:
    store = MemoryOnlineStore(FEATURES)
    processor = StreamProcessor(store, MemoryStream())
    bad = StreamEvent("checkouts", 1, T0, {"checkout_id": 1, "customer_id": "not a number", "created_at": T0})
    with pytest.raises(StreamError, match="customer_id"):
        processor.apply([bad])
    with pytest.raises(StreamError, match="not a cartwise event"):
        decode_event(b"{not json")


def test_events_round_trip_through_their_encoding() -> None:
    event = checkout(7, T0, amount=12_345)
    assert decode_event(encode_event(event)) == event
