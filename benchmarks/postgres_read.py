"""PostgreSQL warehouse: reading tables back as Arrow, ADBC (binary COPY) against psycopg rows.

Writes the simulator's tables at the demo size into a scratch schema of the PostgreSQL
server, then reads each one back through ``PostgresWarehouse.read_table`` (the ADBC path
every query outside a write takes) and through the psycopg row path (what a query inside
a write's transaction takes, and what every query took before), checks both give the same
table, and reports the best of ``--repeat`` reads. The schema is dropped afterwards.

    .venv/bin/python benchmarks/postgres_read.py [--dsn postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from _results import DEFAULT_DATA, report
from cartwise.data.postgres_warehouse import PostgresWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.domain.schemas import TABLES


def _best(read: Callable[[], pa.Table], repeat: int) -> tuple[float, pa.Table]:
    best = float("inf")
    table = pa.table({})
    for _ in range(repeat):
        started = time.perf_counter()
        table = read()
        best = min(best, time.perf_counter() - started)
    return best, table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA / "simulator", help="unused: needs no dataset"
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    tables = simulate(SimulationConfig(customers=args.customers, days=args.days, seed=42))
    schema = f"bench_read_{uuid.uuid4().hex[:8]}"
    rows: list[list[object]] = []
    with PostgresWarehouse(args.dsn, schema=schema) as warehouse:
        try:
            started = time.perf_counter()
            warehouse.write_tables(tables)
            write_seconds = time.perf_counter() - started
            total_arrow = total_rows_path = 0.0
            for name in ("events", "installments", "checkouts", "customers"):
                spec = TABLES[name].schema
                arrow_s, via_arrow = _best(lambda n=name: warehouse.read_table(n), args.repeat)
                rows_s, via_rows = _best(
                    lambda n=name, s=spec: warehouse._query_rows(f"SELECT * FROM {n}").cast(s), args.repeat
                )
                if not via_arrow.equals(via_rows):
                    raise SystemExit(f"the two paths read {name} differently")
                total_arrow += arrow_s
                total_rows_path += rows_s
                n_rows = via_arrow.num_rows
                rows.append([name, n_rows, f"{arrow_s:.2f}", f"{rows_s:.2f}", f"{rows_s / arrow_s:.1f}×"])
            rows.append(["**four tables**", "", f"{total_arrow:.2f}", f"{total_rows_path:.2f}", ""])
        finally:
            warehouse.drop_schema()
    headers = ["table", "rows", "ADBC read s", "psycopg rows s", "speed-up"]
    notes = (
        f"Best of {args.repeat} reads of each whole table, {args.customers:,} customers × {args.days} days "
        f"(writing all eight tables with COPY took {write_seconds:.1f} s). Both paths give identical tables "
        "(checked). The PostgreSQL server runs on the same 2 cores."
    )
    command = f".venv/bin/python benchmarks/postgres_read.py --customers {args.customers} --days {args.days}"
    report(
        "PostgreSQL warehouse: reading tables as Arrow",
        command,
        headers,
        rows,
        notes,
        append=not args.no_report,
    )


if __name__ == "__main__":
    main()
