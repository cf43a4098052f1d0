"""Online read latency: all features of one checkout (customer + device + merchant) in one round trip.

Simulates a marketplace, materialises the online store from it (Redis, the real
server, and the in-process store), then reads every aggregation and derived
feature of the views keyed by customer, device and merchant for random
checkouts, one at a time, and reports p50/p99 over >= 10k reads after a
warm-up. The figure is the whole ``get_online_features`` call: the Redis MGET
round trip, decoding the states and computing every window at the request time.

Anchor (published by Feast, one entity row x 50 features): p99 1.78 ms with
its Go feature server, 8.42 ms with its Python server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import DEFAULT_DATA, report
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.features.catalog import CATALOG
from cartwise.features.definitions import FeatureSet
from cartwise.features.online.materialize import materialize
from cartwise.features.online.memory import MemoryOnlineStore
from cartwise.features.online.store import OnlineStore

CHECKOUT_KEYS = {"customer_id", "device_id", "merchant_id"}


def checkout_features() -> FeatureSet:
    """The catalog's views keyed only by customer, device and merchant, with their derived features."""
    views = tuple(v for v in CATALOG.views if set(v.join_keys) <= CHECKOUT_KEYS)
    names = {f.name for v in views for f in v.features}
    derived = tuple(o for o in CATALOG.on_demand if not o.request_inputs and set(o.feature_inputs) <= names)
    return FeatureSet(views=views, on_demand=derived, name="checkout")


def measure(
    store: OnlineStore, requests: list[tuple[dict[str, object], int]], warmup: int
) -> dict[str, float]:
    """Wall-clock and this thread's CPU time per read, in µs (CPU time leaves out waiting for Redis or the CPU).

    As a long-running service does after loading, the objects alive after the
    warm-up (the simulated data, the warehouse) are frozen out of the garbage
    collector, so a full collection does not walk the benchmark's own data.
    """
    for keys, at in requests[:warmup]:
        store.get_online_features(keys, at)
    gc.collect()
    gc.freeze()
    wall = np.empty(len(requests) - warmup)
    cpu = np.empty(len(requests) - warmup)
    for i, (keys, at) in enumerate(requests[warmup:]):
        started_cpu = time.thread_time_ns()
        started = time.perf_counter_ns()
        store.get_online_features(keys, at)
        wall[i] = time.perf_counter_ns() - started
        cpu[i] = time.thread_time_ns() - started_cpu
    wall /= 1000.0
    cpu /= 1000.0
    return {
        "p50": float(np.percentile(wall, 50)),
        "p99": float(np.percentile(wall, 99)),
        "mean": float(wall.mean()),
        "cpu_p50": float(np.percentile(cpu, 50)),
        "cpu_p99": float(np.percentile(cpu, 99)),
    }


def measure_round_trip(
    store: OnlineStore, requests: list[tuple[dict[str, object], int]], warmup: int
) -> dict[str, float]:
    """The bare MGET of the same keys, without decoding or computing anything."""
    keys = [[store.key(v, store._entity_values(v, k)) for v in store.plan.views] for k, _ in requests]
    for k in keys[:warmup]:
        store.read(k)
    timings = np.empty(len(keys) - warmup)
    for i, k in enumerate(keys[warmup:]):
        started = time.perf_counter_ns()
        store.read(k)
        timings[i] = time.perf_counter_ns() - started
    timings /= 1000.0
    return {
        "p50": float(np.percentile(timings, 50)),
        "p99": float(np.percentile(timings, 99)),
        "mean": float(timings.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA / "simulated", help="unused: the data is simulated"
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--reads", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    load_before = os.getloadavg()
    features = checkout_features()
    n_features = len(features.features) + len(features.on_demand)
    tables = simulate(SimulationConfig(customers=args.customers, days=args.days, seed=args.seed))
    checkouts = tables["checkouts"].to_pylist()
    end = max(r["created_at"] for r in checkouts)
    as_of = end + dt.timedelta(seconds=1)
    rng = random.Random(args.seed)
    recent = [r for r in checkouts if r["created_at"] >= end - dt.timedelta(days=7)]
    at_us = int(as_of.timestamp() * 1_000_000)
    requests = []
    for _ in range(args.reads + args.warmup):
        row = rng.choice(recent)
        requests.append(({k: row[k] for k in CHECKOUT_KEYS}, at_us))

    del checkouts, recent
    rows = []
    with tempfile.TemporaryDirectory() as tmp, DuckDBWarehouse(Path(tmp) / "w.duckdb") as warehouse:
        warehouse.write_tables(tables)
        stores: list[tuple[str, OnlineStore]] = [
            ("in-process", MemoryOnlineStore(features, key_prefix="bench"))
        ]
        try:
            from cartwise.features.online.redis_store import RedisOnlineStore

            redis_store = RedisOnlineStore(features, url=args.redis_url, key_prefix="bench-online-read")
            redis_store.client.ping()
            stores.append(("Redis (127.0.0.1, hiredis)", redis_store))
        except Exception as exc:  # report what can be measured
            print(f"Redis unavailable ({exc}); measuring the in-process store only")
        for name, store in stores:
            loaded = materialize(warehouse, store, features, as_of)
            sizes = [len(v) for v in store.read(_all_keys(store, requests[:200])) if v is not None]
            stats = measure(store, requests, args.warmup)
            rows.append(
                [
                    f"cartwise, {name}",
                    n_features,
                    args.reads,
                    stats["p50"],
                    stats["p99"],
                    stats["mean"],
                    stats["cpu_p50"],
                    stats["cpu_p99"],
                    int(np.mean(sizes)),
                ]
            )
            if name.startswith("Redis"):
                trip = measure_round_trip(store, requests, args.warmup)
                rows.append(
                    [
                        f"  of which the bare MGET of {len(store.plan.views)} keys",
                        "-",
                        args.reads,
                        trip["p50"],
                        trip["p99"],
                        trip["mean"],
                        "-",
                        "-",
                        "-",
                    ]
                )
            print(f"{name}: materialised {loaded.states:,} states in {loaded.seconds:.1f} s; {stats}")
            store.clear()
            store.close()
    rows.append(["Feast Go feature server (published)", 50, "-", "-", 1780.0, "-", "-", "-", "-"])
    rows.append(["Feast Python feature server (published)", 50, "-", "-", 8420.0, "-", "-", "-", "-"])
    report(
        "Online read: all features of one checkout (customer + device + merchant)",
        f"python benchmarks/online_read.py --customers {args.customers} --days {args.days} --reads {args.reads}",
        [
            "store",
            "features",
            "reads",
            "p50 µs",
            "p99 µs",
            "mean µs",
            "CPU p50 µs",
            "CPU p99 µs",
            "mean state bytes",
        ],
        rows,
        notes=(
            f"{len(features.views)} feature views, {n_features} features (windowed aggregations computed at the "
            f"request time from per-entity state, plus derived ratios); simulated marketplace of {args.customers:,} "
            f"customers over {args.days} days; reads of random checkouts of the last 7 days, one at a time, after "
            f"{args.warmup:,} warm-up reads. Load average (1/5/15 min) before "
            f"{'/'.join(f'{x:.1f}' for x in load_before)}, after {'/'.join(f'{x:.1f}' for x in os.getloadavg())} "
            "on 2 cores: wall-clock figures move with other work on the machine; the CPU columns are the reading thread's own time "
            "(they leave out waiting for Redis and for a core). Feast figures are its published benchmark (one row x 50 features), "
            "not measured here."
        ),
    )


def _all_keys(store: OnlineStore, requests: list[tuple[dict[str, object], int]]) -> list[str]:
    return [store.key(v, store._entity_values(v, k)) for k, _ in requests for v in store.plan.views]


if __name__ == "__main__":
    main()
