"""What was simulated, saved next to the data: settings, the drift moment, compromised windows.

Monitoring and demos read it to know where the drift starts and which labels to expect;
the warehouse tables themselves carry no trace of the simulation.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from cartwise.data.simulator.engine import SimulationResult
from cartwise.errors import ConfigError

__all__ = ["MANIFEST_NAME", "SimulationManifest", "read_manifest", "write_manifest"]

MANIFEST_NAME = "simulation.json"


@dataclass(frozen=True)
class SimulationManifest:
    """The facts about a simulated data set that its tables do not say."""

    customers: int
    days: int
    seed: int
    start: dt.datetime
    end: dt.datetime
    drift_start: dt.datetime
    compromised_windows: tuple[tuple[int, dt.datetime, dt.datetime], ...]
    """(merchant_id, from, to) of each compromised merchant's fraud window."""
    rows: dict[str, int]

    @staticmethod
    def of(result: SimulationResult) -> SimulationManifest:
        config = result.config
        return SimulationManifest(
            customers=config.customers,
            days=config.days,
            seed=config.seed,
            start=config.start,
            end=config.end,
            drift_start=config.start + dt.timedelta(days=config.drift_day),
            compromised_windows=tuple(
                (w.merchant_id, _from_us(w.start_us), _from_us(w.end_us)) for w in result.compromised_windows
            ),
            rows={name: table.num_rows for name, table in result.tables.items()},
        )


def write_manifest(manifest: SimulationManifest, data_dir: str | Path) -> Path:
    """Write ``simulation.json`` into ``data_dir``; returns its path."""
    path = Path(data_dir) / MANIFEST_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "customers": manifest.customers,
        "days": manifest.days,
        "seed": manifest.seed,
        "start": manifest.start.isoformat(),
        "end": manifest.end.isoformat(),
        "drift_start": manifest.drift_start.isoformat(),
        "compromised_windows": [
            {"merchant_id": m, "from": a.isoformat(), "to": b.isoformat()}
            for m, a, b in manifest.compromised_windows
        ],
        "rows": manifest.rows,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def read_manifest(data_dir: str | Path) -> SimulationManifest:
    """The manifest ``cartwise simulate`` left in ``data_dir``."""
    path = Path(data_dir) / MANIFEST_NAME
    if not path.is_file():
        raise ConfigError(f"{path} does not exist: run `cartwise simulate` with this --data-dir first")
    try:
        raw = json.loads(path.read_text())
        return SimulationManifest(
            customers=int(raw["customers"]),
            days=int(raw["days"]),
            seed=int(raw["seed"]),
            start=dt.datetime.fromisoformat(raw["start"]),
            end=dt.datetime.fromisoformat(raw["end"]),
            drift_start=dt.datetime.fromisoformat(raw["drift_start"]),
            compromised_windows=tuple(
                (
                    int(w["merchant_id"]),
                    dt.datetime.fromisoformat(w["from"]),
                    dt.datetime.fromisoformat(w["to"]),
                )
                for w in raw["compromised_windows"]
            ),
            rows={str(k): int(v) for k, v in raw["rows"].items()},
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} is not a valid simulation manifest ({exc}); run `cartwise simulate` again"
        ) from exc


def _from_us(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)
