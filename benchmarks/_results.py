"""Shared helpers for benchmark scripts: machine description and RESULTS.md appends."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
DEFAULT_DATA = REPO.parent / "shared" / "datasets"


def machine() -> str:
    """One line naming the CPU, core count, memory and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.4f}" if abs(v) < 10 else f"{v:,.1f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def report(
    title: str,
    command: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    notes: str = "",
    *,
    append: bool = True,
) -> str:
    """Print a table and append it, with machine, date and the re-run command, to RESULTS.md.

    ``append=False`` (a script's ``--no-report``) prints it only.
    """
    table = markdown_table(headers, rows)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"\n## {title}\n\n{stamp} · {machine()}\n\nRe-run: `{command}`\n\n{table}\n"
    if notes:
        block += f"\n{notes.strip()}\n"
    print(block)
    if not append:
        return block
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Benchmark results\n\nEach script appends its table here, with the machine and date.\n"
        )
    with RESULTS.open("a") as fh:
        fh.write(block)
    return block
