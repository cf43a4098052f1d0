"""Lineage of a training run: what data (time range, content hash), which code (git commit).

The content hash is a sha256 over the Arrow IPC stream of each frame with schema
metadata stripped (pandas writes its version there), so the same rows in the same
order hash the same on any machine.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

__all__ = ["frame_content_hash", "frame_time_range", "git_commit"]

logger = logging.getLogger(__name__)


def _as_arrow(frame: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(frame, pa.Table):
        table = frame
    else:
        with warnings.catch_warnings():  # pyarrow reads tz-aware columns through a deprecated pandas path
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
            table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.replace_schema_metadata(None)


def frame_content_hash(frames: Sequence[pd.DataFrame | pa.Table]) -> str:
    """sha256 (hex) over the Arrow IPC stream of the frames, in order."""
    digest = hashlib.sha256()
    for frame in frames:
        table = _as_arrow(frame)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def frame_time_range(frames: Sequence[pd.DataFrame], column: str) -> tuple[datetime, datetime] | None:
    """Earliest and latest value of ``column`` across the frames (None when no rows)."""
    values = [pd.to_datetime(f[column], utc=True) for f in frames if column in f.columns and len(f)]
    if not values:
        return None
    joined = pd.concat(values)
    return joined.min().to_pydatetime(), joined.max().to_pydatetime()


def git_commit(path: Path | None = None) -> str:
    """The commit checked out where cartwise runs from (``git rev-parse HEAD``), else ``'unknown'``."""
    cwd = path or Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("git rev-parse failed: %s", exc)
        return "unknown"
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else "unknown"
