"""Stream processor throughput: simulated marketplace events applied to the online store.

Replays a simulated marketplace's events (checkouts, browsing events,
installments booked and paid, chargebacks, credit outcomes, sign-ups) through
the stream processor in micro-batches and reports events per second of
processing, with the in-process store and with Redis, for the whole feature
catalog and for the fraud features. ``--kafka`` adds the end-to-end figure
through a Kafka-protocol broker (Tansu, started here) with confluent-kafka.
The processor runs on one core (DuckDB with one thread).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _results import DEFAULT_DATA, report
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.features.catalog import CATALOG, FRAUD_FEATURES
from cartwise.features.definitions import FeatureSet
from cartwise.features.online.memory import MemoryOnlineStore
from cartwise.features.online.store import OnlineStore
from cartwise.streaming.events import StreamEvent
from cartwise.streaming.memory_stream import MemoryStream
from cartwise.streaming.processor import StreamProcessor
from cartwise.streaming.replay import warehouse_events


def run_replay(store: OnlineStore, events: list[StreamEvent], batch_size: int) -> tuple[float, float]:
    processor = StreamProcessor(store, MemoryStream(), batch_size=batch_size)
    wall = time.perf_counter()
    cpu = time.process_time()
    processor.replay(events)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    processor.close()
    return len(events) / wall, len(events) / cpu


def run_kafka(features: FeatureSet, events: list[StreamEvent], batch_size: int) -> tuple[float, float]:
    from cartwise.streaming.kafka_stream import KafkaStream
    from cartwise.streaming.tansu import TansuBroker

    with TansuBroker() as broker:
        stream = KafkaStream(broker.bootstrap_servers, topic="bench", group="bench", assignment="assign")
        stream.publish(events)
        processor = StreamProcessor(
            MemoryOnlineStore(features), stream, batch_size=batch_size, poll_timeout=1.0
        )
        wall = time.perf_counter()
        cpu = time.process_time()
        processor.run(max_events=len(events), idle_timeout=10)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        stream.close()
        processor.close()
    return len(events) / wall, len(events) / cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA / "simulated", help="unused: the data is simulated"
    )
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--kafka", action="store_true", help="also measure through a Tansu broker")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    tables = simulate(SimulationConfig(customers=args.customers, days=args.days, seed=args.seed))
    events = warehouse_events(tables)
    print(f"{len(events):,} events")
    rows = []
    for features in (CATALOG, FRAUD_FEATURES):
        label = f"{features.name} ({len(features.views)} views)"
        wall, cpu = run_replay(MemoryOnlineStore(features), events, args.batch_size)
        rows.append([label, "in-process", "in-process", wall, cpu])
        print(rows[-1])
        try:
            from cartwise.features.online.redis_store import RedisOnlineStore

            redis_store = RedisOnlineStore(features, url=args.redis_url, key_prefix="bench-stream")
            redis_store.clear()
            wall, cpu = run_replay(redis_store, events, args.batch_size)
            rows.append([label, "in-process", "Redis", wall, cpu])
            print(rows[-1])
            redis_store.clear()
            redis_store.close()
        except Exception as exc:  # report what can be measured
            print(f"Redis store not measured: {exc}")
        if args.kafka:
            wall, cpu = run_kafka(features, events, args.batch_size)
            rows.append([label, "Kafka (Tansu, confluent-kafka)", "in-process", wall, cpu])
            print(rows[-1])
    report(
        "Stream processor throughput",
        f"python benchmarks/stream_processor.py --customers {args.customers} --days {args.days}"
        + (" --kafka" if args.kafka else ""),
        ["feature set", "stream", "store", "events/s (wall)", "events/s (CPU time)"],
        [[r[0], r[1], r[2], round(r[3]), round(r[4])] for r in rows],
        notes=(
            f"{len(events):,} events of a simulated marketplace ({args.customers:,} customers, {args.days} days), "
            f"micro-batches of {args.batch_size:,}; the processor is single-threaded. Target: >= 20,000 events/s "
            "on one core with the in-process store. The machine is shared and was loaded while measuring "
            "(load average well above its 2 cores): wall-clock figures are noisy; CPU time is the processor's own."
        ),
    )


if __name__ == "__main__":
    main()
