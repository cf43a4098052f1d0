"""No training/serving skew: features served online equal the offline point-in-time values exactly.

The simulator's events are replayed, in time order, through the stream
processor; at a sample of checkouts the replay stops just before the checkout's
instant, the online store is read, and every aggregation and derived feature is
compared with the offline training frame of the same (entity, time) points.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.features.catalog import CATALOG
from cartwise.features.offline import training_frame
from cartwise.features.online.memory import MemoryOnlineStore
from cartwise.features.online.store import OnlineStore
from cartwise.streaming.events import StreamEvent, to_micros
from cartwise.streaming.memory_stream import MemoryStream
from cartwise.streaming.processor import StreamProcessor
from cartwise.streaming.replay import warehouse_events
from cartwise.streaming.stream import EventStream

REQUEST_FIELDS = ("amount_minor", "n_installments", "installment_interval_days")
# a lateness longer than the run keeps every row, so any sampled instant can be read after the replay
LATENESS = dt.timedelta(days=400)


@pytest.fixture(scope="module")
def marketplace() -> dict[str, pa.Table]:
    """120 days of a small marketplace: long enough for chargebacks and credit outcomes to be known."""
    return simulate(SimulationConfig(customers=400, days=120, merchants=15, products=100, seed=5))


def _point(checkout: dict[str, object], at: dt.datetime) -> dict[str, object]:
    point = {k: checkout[k] for k in CATALOG.join_keys if k in checkout}
    point["product_id"] = checkout["product_ids"][0]  # type: ignore[index]
    point.update({k: checkout[k] for k in REQUEST_FIELDS})
    point["feature_time"] = at
    return point


@pytest.fixture(scope="module")
def points_and_offline(
    marketplace: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Sampled checkouts at their own instant, plus instants on window and label boundaries."""
    rng = random.Random(0)
    checkouts = marketplace["checkouts"].to_pylist()
    by_id = {row["checkout_id"]: row for row in checkouts}
    points = [_point(row, row["created_at"]) for row in rng.sample(checkouts, 30)]
    # an event exactly at t - w is in the window: read exactly 10m, 1h, 24h and 7d after a checkout
    for row in rng.sample(checkouts, 10):
        for window in (
            dt.timedelta(minutes=10),
            dt.timedelta(hours=1),
            dt.timedelta(days=1),
            dt.timedelta(days=7),
        ):
            points.append(_point(row, row["created_at"] + window))
    # a label counts only once known: read exactly at a chargeback's report and after its order windows
    for chargeback in rng.sample(marketplace["chargebacks"].to_pylist(), 8):
        row = by_id[chargeback["checkout_id"]]
        for at in (
            chargeback["reported_at"],
            row["created_at"] + dt.timedelta(days=7),
            row["created_at"] + dt.timedelta(days=30),
        ):
            points.append(_point(row, at))
    points.sort(key=lambda p: p["feature_time"])  # type: ignore[arg-type, return-value]
    spine = pa.Table.from_pylist(points)
    spine = spine.set_column(
        spine.schema.get_field_index("feature_time"),
        "feature_time",
        spine.column("feature_time").cast(pa.timestamp("us", tz="UTC")),
    )
    path: Path = tmp_path_factory.mktemp("skew") / "warehouse.duckdb"
    with DuckDBWarehouse(path) as warehouse:
        warehouse.write_tables(marketplace)
        offline = training_frame(warehouse, spine, CATALOG, timestamp_column="feature_time").to_pylist()
    return points, offline


def _compare(
    store: OnlineStore, points: list[dict[str, object]], offline: list[dict[str, object]], apply
) -> int:  # type: ignore[no-untyped-def]
    names = [f.name for f in CATALOG.features] + [o.name for o in CATALOG.on_demand if not o.request_inputs]
    mismatches: list[str] = []
    nonzero = 0
    for point, expected in zip(points, offline, strict=True):
        at = to_micros(point["feature_time"])  # type: ignore[arg-type]
        apply(at)
        online = store.get_online_features(point, at)
        for name in names:
            want = expected[name]
            if want != want:  # NaN from an on-demand ratio offline is NULL online
                want = None
            if online[name] != want:
                mismatches.append(
                    f"{name} at {point['feature_time']}: online {online[name]!r}, offline {want!r}"
                )
            nonzero += want not in (None, 0)
    assert not mismatches, f"{len(mismatches)} skewed values, e.g. {mismatches[:5]}"
    return nonzero


def _replayer(processor: StreamProcessor, events: list[StreamEvent], stream: EventStream | None = None):  # type: ignore[no-untyped-def]
    times = [e.event_time for e in events]
    position = 0

    def apply_before(at_us: int) -> None:
        nonlocal position
        end = bisect.bisect_left(times, at_us)  # every event strictly before the request
        if end > position:
            if stream is None:
                processor.replay(events[position:end])
            else:
                stream.publish(events[position:end])
                processor.run(max_events=end - position, idle_timeout=5.0)
            position = end

    return apply_before


def test_online_equals_offline_after_replaying_every_event(marketplace, points_and_offline) -> None:  # type: ignore[no-untyped-def]
    points, offline = points_and_offline
    store = MemoryOnlineStore(CATALOG, allowed_lateness=LATENESS)
    StreamProcessor(store, MemoryStream()).replay(warehouse_events(marketplace))
    nonzero = _compare(store, points, offline, lambda at: None)
    assert nonzero > 400  # the comparison covers real activity, not only empty windows


@pytest.mark.redis
def test_online_equals_offline_through_redis_streams_and_the_redis_store(
    marketplace, points_and_offline, redis_url
) -> None:  # type: ignore[no-untyped-def]
    from cartwise.features.online.redis_store import RedisOnlineStore
    from cartwise.streaming.redis_stream import RedisStream

    points, offline = points_and_offline
    prefix = f"skew{uuid.uuid4().hex[:6]}"
    store = RedisOnlineStore(CATALOG, url=redis_url, key_prefix=prefix, allowed_lateness=LATENESS)
    stream = RedisStream(redis_url, topic=f"{prefix}.events", group="skew", consumer="c1")
    processor = StreamProcessor(store, stream, poll_timeout=0.2)
    try:
        # served as of each instant: only the events before it have been streamed when it is read
        _compare(
            store, points[::4], offline[::4], _replayer(processor, warehouse_events(marketplace), stream)
        )
    finally:
        store.clear()
        store.close()
        stream.close()
