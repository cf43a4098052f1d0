"""Simulator speed at the default demo size: seconds and rows/s, per step, per table and in total.

The claim: 50,000 customers over 120 days (≥ 1M events) generate in under 60 s on a 2-core
machine. Also reports the headline figures of the generated data, and the time to write
each table to a DuckDB file.

    .venv/bin/python benchmarks/simulator.py [--customers 50000] [--days 120] [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).parent))
from _results import DEFAULT_DATA, report
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator import SimulationConfig, run

TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA / "simulator", help="unused: needs no dataset"
    )
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    config = SimulationConfig(customers=args.customers, days=args.days, seed=args.seed)

    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    result = run(config, progress=lambda step: marks.append((step, time.perf_counter())))
    total = time.perf_counter() - started
    marks.append(("end", time.perf_counter()))
    steps = [(name, marks[i + 1][1] - t) for i, (name, t) in enumerate(marks[:-1])]
    tables = result.tables
    total_rows = sum(t.num_rows for t in tables.values())

    writes: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, DuckDBWarehouse(Path(tmp) / "warehouse.duckdb") as warehouse:
        for name, table in tables.items():
            t0 = time.perf_counter()
            warehouse.write_table(name, table)
            writes[name] = time.perf_counter() - t0

    rows: list[list[object]] = []
    for name, table in tables.items():
        rows.append([name, table.num_rows, f"{table.num_rows / total:,.0f}", f"{writes[name]:.2f}"])
    rows.append(["**total**", total_rows, f"{total_rows / total:,.0f}", f"{sum(writes.values()):.2f}"])
    for name, seconds in steps:
        rows.append([f"step: {name}", "", "", f"{seconds:.2f} s (generation)"])
    verdict = "meets" if total < TARGET_SECONDS and tables["events"].num_rows >= 1_000_000 else "MISSES"

    figures = _figures(result, config)
    notes = (
        f"Generation took {total:.1f} s for {args.customers:,} customers × {args.days} days "
        f"({tables['events'].num_rows:,} events): {verdict} the target of < {TARGET_SECONDS:.0f} s with ≥ 1M events. "
        "rows/s per table = the table's rows / the whole generation time (the tables are generated together). "
        "The machine is shared with other jobs: timings are noisy (±30%).\n\n" + figures
    )
    command = f".venv/bin/python benchmarks/simulator.py --customers {args.customers} --days {args.days} --seed {args.seed}"
    headers = ["table", "rows", "rows/s (generation)", "DuckDB write s"]
    report("Simulator: default demo size", command, headers, rows, notes, append=not args.no_report)


def _figures(result: object, config: SimulationConfig) -> str:
    from cartwise.data.simulator import SimulationResult

    assert isinstance(result, SimulationResult)
    t = result.tables
    n = t["checkouts"].num_rows
    truth = result.truth["checkout_truth"]
    true_rate = 1 - truth.column("fraud_type").null_count / n
    cb = t["chargebacks"]
    delay = (
        cb["reported_at"].cast("int64").to_numpy() - cb["order_created_at"].cast("int64").to_numpy()
    ) / 86_400e6
    default_rate = pc.mean(t["credit_outcomes"]["defaulted"].cast("int8")).as_py()
    drift = config.start + dt.timedelta(days=config.drift_day)
    segment = dict(
        zip(t["customers"]["customer_id"].to_pylist(), t["customers"]["segment"].to_pylist(), strict=True)
    )
    genuine = truth.column("fraud_type").is_null().to_numpy(zero_copy_only=False)
    thin = np.array([segment[c] == "thin_file" for c in t["checkouts"]["customer_id"].to_pylist()])
    after = t["checkouts"]["created_at"].cast("int64").to_numpy() >= int(drift.timestamp() * 1e6)
    con = duckdb.connect()
    for name in ("checkouts", "installments"):
        con.register(name, t[name])
    con.register("checkout_truth", truth)
    end = config.end.isoformat()
    history = dict(
        con.execute(
            f"""
            WITH late AS (SELECT customer_id, min(paid_at) AS first_late FROM installments
                          WHERE status = 'paid_late' GROUP BY customer_id)
            SELECT coalesce(l.first_late < c.created_at, false) AS late_before,
                   avg(CASE WHEN i.status IN ('overdue', 'defaulted') THEN 1.0 ELSE 0.0 END)
            FROM checkouts AS c JOIN checkout_truth AS tr USING (checkout_id)
            JOIN installments AS i ON i.checkout_id = c.checkout_id AND i.seq = 1
            LEFT JOIN late AS l ON l.customer_id = c.customer_id
            WHERE tr.fraud_type IS NULL AND i.due_at < TIMESTAMPTZ '{end}' - INTERVAL 30 DAY
            GROUP BY 1
            """
        ).fetchall()
    )
    con.register("credit_outcomes", t["credit_outcomes"])
    con.register("customers", t["customers"])
    by_group = {
        column: con.execute(
            f"SELECT c.{column}, avg(CASE WHEN o.defaulted THEN 1.0 ELSE 0.0 END), count(*) FROM credit_outcomes AS o "
            "JOIN customers AS c USING (customer_id) GROUP BY 1 ORDER BY 1"
        ).fetchall()
        for column in ("age_band", "gender", "segment")
    }
    # Short simulations may resolve no credit outcome or report no chargeback yet.
    defaults = (
        f"default rate {default_rate:.2%} of {t['credit_outcomes'].num_rows:,} resolved outcomes"
        if default_rate is not None
        else "no credit outcome resolved yet (simulate more days)"
    )
    delays = (
        f"chargeback delay min/median/max {delay.min():.1f}/{np.median(delay):.1f}/{delay.max():.1f} days"
        if delay.size
        else "no chargeback reported yet"
    )
    fairness = "; ".join(
        f"{column}: " + ", ".join(f"{value} {rate:.1%} (n={n:,})" for value, rate, n in rows)
        for column, rows in by_group.items()
    )
    return (
        f"Default rate by group (protected attributes act only through income and segment): {fairness}. "
        f"First installment missed: {history.get(True, float('nan')):.1%} of orders whose shopper had paid "
        f"late before, {history.get(False, float('nan')):.1%} of the others. "
        f"Data: true fraud rate {true_rate:.2%}, reported (chargebacks known at the end) {cb.num_rows / n:.2%}, "
        f"{defaults}, {delays}; "
        f"thin-file share of genuine checkouts {thin[genuine & ~after].mean():.1%} before the drift day "
        f"({drift.date()}) and {thin[genuine & after].mean():.1%} after."
    )


if __name__ == "__main__":
    main()
