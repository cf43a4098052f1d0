"""One contract for the online stores: in-process and Redis (the real server), plus materialize."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.errors import FeatureError
from cartwise.features.catalog import CATALOG
from cartwise.features.online.materialize import materialize
from cartwise.features.online.memory import MemoryOnlineStore
from cartwise.features.online.store import OnlineStore
from cartwise.streaming.memory_stream import MemoryStream
from cartwise.streaming.processor import StreamProcessor
from cartwise.streaming.replay import warehouse_events

AS_OF = dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def marketplace() -> dict[str, pa.Table]:
    """A small simulated marketplace (about a second to simulate)."""
    return simulate(SimulationConfig(customers=300, days=45, merchants=12, products=60, seed=11))


def _make_store(kind: str, request: pytest.FixtureRequest) -> OnlineStore:
    if kind == "memory":
        return MemoryOnlineStore(CATALOG, key_prefix=f"t{uuid.uuid4().hex[:6]}")
    from cartwise.features.online.redis_store import RedisOnlineStore

    url = request.getfixturevalue("redis_url")
    return RedisOnlineStore(CATALOG, url=url, key_prefix=f"t{uuid.uuid4().hex[:6]}")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest) -> Iterator[object]:
    made: list[OnlineStore] = []

    def factory() -> OnlineStore:
        store = _make_store(request.param, request)
        made.append(store)
        return store

    yield factory
    for store in made:
        store.clear()
        store.close()


def _checkout_keys(row: dict[str, object]) -> dict[str, object]:
    keys = {k: row[k] for k in CATALOG.join_keys if k in row}
    keys["product_id"] = row["product_ids"][0]  # type: ignore[index]
    return keys


def _count_reads(store: OnlineStore) -> list[int]:
    """From now on, the number of keys of each ``store.read`` call (a round trip each)."""
    reads: list[int] = []
    original = store.read

    def counting(keys):  # type: ignore[no-untyped-def]
        reads.append(len(keys))
        return original(keys)

    store.read = counting  # type: ignore[method-assign]
    return reads


def test_an_empty_store_answers_every_feature_with_its_default(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    keys = {k: 1 if k.endswith("_id") else "x" for k in CATALOG.join_keys}
    features = store.get_online_features(keys, AS_OF)
    derived = [o.name for o in CATALOG.on_demand if not o.request_inputs]
    assert set(features) == {f.name for f in CATALOG.features} | set(derived)
    assert features["customer__checkouts__count__24h"] == 0
    assert features["customer__amount_minor__mean__30d"] is None
    assert features["merchant_chargeback_rate_30d"] is None  # 0 / 0


def test_a_checkout_is_read_in_one_round_trip(make_store, marketplace) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    StreamProcessor(store, MemoryStream()).replay(warehouse_events(marketplace))
    reads = _count_reads(store)
    row = marketplace["checkouts"].slice(marketplace["checkouts"].num_rows // 2, 1).to_pylist()[0]
    features = store.get_online_features(_checkout_keys(row), row["created_at"])
    assert reads == [len(store.plan.views)]
    assert len(features) >= 100


def test_many_checkouts_are_read_in_one_round_trip_with_each_ones_own_values(make_store, marketplace) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    StreamProcessor(store, MemoryStream()).replay(warehouse_events(marketplace))
    checkouts = marketplace["checkouts"].to_pylist()
    rows = checkouts[-25:] + checkouts[-25:-20]  # some checkouts twice: shared states are fetched once
    keys = [_checkout_keys(row) for row in rows]
    times = [row["created_at"] for row in rows]
    alone = [store.get_online_features(k, t) for k, t in zip(keys, times, strict=True)]
    served = sorted({f.name for f in CATALOG.features})[:40]
    alone_narrow = [
        store.get_online_features(k, t, features=served) for k, t in zip(keys, times, strict=True)
    ]
    reads = _count_reads(store)
    assert store.get_online_features_many(keys, times) == alone
    assert store.get_online_features_many(keys, times, features=served) == alone_narrow
    assert len(reads) == 2
    assert reads[0] < len(rows) * len(store.plan.views)  # merchants and repeated checkouts shared
    with pytest.raises(FeatureError, match="request times"):
        store.get_online_features_many(keys, times[:-1])


def test_materialize_gives_the_same_features_as_replaying_the_stream(
    make_store, marketplace, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    as_of_us = int(AS_OF.timestamp() * 1_000_000)
    replayed = make_store()
    StreamProcessor(replayed, MemoryStream()).replay(
        e for e in warehouse_events(marketplace) if e.event_time < as_of_us
    )
    loaded = make_store()
    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        warehouse.write_tables(marketplace)
        result = materialize(warehouse, loaded, CATALOG, AS_OF)
    assert result.states > 0
    assert loaded.watermark_us == as_of_us
    checkouts = [r for r in marketplace["checkouts"].to_pylist() if r["created_at"] >= AS_OF][:25]
    assert checkouts
    # at as_of and later, before the stream brings anything newer (installments fall due meanwhile)
    for at in (AS_OF, AS_OF + dt.timedelta(days=10)):
        for row in checkouts:
            keys = _checkout_keys(row)
            assert loaded.get_online_features(keys, at) == replayed.get_online_features(keys, at)


def test_a_missing_join_key_is_named(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    with pytest.raises(FeatureError, match="merchant_id"):
        store.get_online_features({"customer_id": 1}, AS_OF)


def test_clear_removes_the_feature_sets_keys(make_store, marketplace) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    StreamProcessor(store, MemoryStream()).replay(warehouse_events(marketplace, tables=["checkouts"]))
    assert store.watermark_us is not None
    store.clear()
    assert store.watermark_us is None
    row = marketplace["checkouts"].to_pylist()[-1]
    assert (
        store.get_online_features(_checkout_keys(row), AS_OF)["customer__lifetime_checkouts__count__all"] == 0
    )


@pytest.mark.redis
def test_redis_states_expire_after_their_longest_window(redis_url: str, marketplace) -> None:  # type: ignore[no-untyped-def]
    import redis

    from cartwise.features.online.redis_store import RedisOnlineStore

    store = RedisOnlineStore(CATALOG, url=redis_url, key_prefix=f"t{uuid.uuid4().hex[:6]}")
    StreamProcessor(store, MemoryStream()).replay(warehouse_events(marketplace, tables=["checkouts"]))
    client = redis.Redis.from_url(redis_url)
    by_view = {v.name: v for v in store.plan.views}
    checked = 0
    for key in client.scan_iter(match=f"{store.key_prefix}:*", count=1000):
        parts = key.decode().split(":")
        if parts[2] == "__meta":
            continue
        view = by_view[parts[2]]
        ttl = client.pttl(key)
        if view.retention_us is None:
            assert ttl == -1
        else:
            assert 0 < ttl <= view.retention_us // 1000
        checked += 1
    assert checked > 0
    store.clear()
    store.close()


@pytest.mark.redis
def test_the_redis_read_path_selects_its_database_reconnects_and_names_failures(redis_url: str) -> None:
    """The checkout read's own connection (one MGET per read) honours the URL's database, is made
    again when the server has dropped it, and reports an unreachable server by URL."""
    import socket

    import redis

    from cartwise.features.online.redis_store import RedisOnlineStore

    store = RedisOnlineStore(CATALOG, url=redis_url, key_prefix=f"t{uuid.uuid4().hex[:6]}")
    other_db = redis_url.rsplit("/", 1)[0] + "/12"
    try:
        store.client.set("cw-read-path-probe", b"here")
        assert store.read(["cw-read-path-probe", "cw-read-path-absent"]) == [b"here", None]
        other = RedisOnlineStore(CATALOG, url=other_db, key_prefix="x", read_spin_seconds=0.0)
        assert other.read(["cw-read-path-probe"]) == [
            None
        ]  # another database, another answer (blocking read)
        other.close()
        # the server drops the read connection (as a restart or an idle timeout would): the read reconnects
        host, port = store._local.conn._sock.getsockname()
        store.client.client_kill(f"{host}:{port}")
        assert store.read(["cw-read-path-probe"]) == [b"here"]
        assert store._local.conn._sock.getsockname()[1] != port  # on a new connection
    finally:
        store.client.delete("cw-read-path-probe")
        store.close()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = RedisOnlineStore(CATALOG, url=f"redis://127.0.0.1:{port}/0", key_prefix="x", socket_timeout=0.5)
    with pytest.raises(redis.ConnectionError, match=f"127.0.0.1:{port}"):
        dead.read(["any"])
    dead.close()
