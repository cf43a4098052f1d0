"""The gauges file ``cartwise monitor run`` writes and the decision service exposes.

Format of ``<data_dir>/monitoring/gauges.json`` (version 1)::

    {
      "format": "cartwise-gauges/1",
      "generated_at": "2026-11-25T23:00:00+00:00",
      "gauges": [
        {"name": "cartwise_feature_psi", "labels": {"model": "fraud", "feature": "amount_minor"}, "value": 0.031},
        {"name": "cartwise_score_psi", "labels": {"model": "fraud"}, "value": 0.012},
        {"name": "cartwise_approval_rate_reference", "labels": {}, "value": 0.87}
      ]
    }

Every ``name`` is one of :data:`~cartwise.monitoring.metric_names.MONITOR_GAUGES` and
its ``labels`` carry exactly that gauge's label names. The file is replaced
atomically, so a reader never sees half of it. The service calls
:func:`load_gauges`, or registers :class:`GaugeFileCollector`, which re-reads the
file at each scrape.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cartwise.errors import SchemaError
from cartwise.monitoring.metric_names import MONITOR_GAUGES, MetricName

__all__ = [
    "GAUGES_FORMAT",
    "GaugeFile",
    "GaugeFileCollector",
    "GaugeSample",
    "gauges_path",
    "load_gauges",
    "write_gauges",
]

logger = logging.getLogger(__name__)

GAUGES_FORMAT = "cartwise-gauges/1"
_BY_NAME: dict[str, MetricName] = {m.name: m for m in MONITOR_GAUGES}


@dataclass(frozen=True)
class GaugeSample:
    """One gauge value with its labels."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GaugeFile:
    """The contents of gauges.json."""

    generated_at: dt.datetime
    samples: tuple[GaugeSample, ...]


def gauges_path(data_dir: str | Path) -> Path:
    """Where ``cartwise monitor run`` writes the gauges for a data directory."""
    return Path(data_dir) / "monitoring" / "gauges.json"


def _check_sample(sample: GaugeSample, where: str) -> None:
    metric = _BY_NAME.get(sample.name)
    if metric is None:
        known = ", ".join(sorted(_BY_NAME))
        raise SchemaError(f"{where}: unknown gauge {sample.name!r}; the monitoring gauges are: {known}")
    if set(sample.labels) != set(metric.labels):
        raise SchemaError(
            f"{where}: gauge {sample.name} has labels {sorted(sample.labels)}, "
            f"it needs exactly {sorted(metric.labels)}"
        )


def write_gauges(path: str | Path, samples: Iterable[GaugeSample], *, now: dt.datetime | None = None) -> Path:
    """Validate and atomically replace the gauges file at ``path``."""
    path = Path(path)
    items = list(samples)
    for i, sample in enumerate(items):
        _check_sample(sample, f"gauge #{i}")
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    doc = {
        "format": GAUGES_FORMAT,
        "generated_at": stamp.isoformat(),
        "gauges": [{"name": s.name, "labels": dict(s.labels), "value": float(s.value)} for s in items],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gauges-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1, allow_nan=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("wrote %d gauges to %s", len(items), path)
    return path


def _parse(doc: Any, path: Path) -> GaugeFile:
    if not isinstance(doc, dict) or doc.get("format") != GAUGES_FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise SchemaError(
            f"{path} is not a cartwise gauges file (format {got!r}, expected {GAUGES_FORMAT!r}); "
            "re-create it with `cartwise monitor run`"
        )
    try:
        generated_at = dt.datetime.fromisoformat(str(doc["generated_at"]))
        raw = doc["gauges"]
    except (KeyError, ValueError) as exc:
        raise SchemaError(
            f"{path}: missing or malformed 'generated_at'/'gauges' ({exc}); re-run `cartwise monitor run`"
        ) from exc
    if not isinstance(raw, list):
        raise SchemaError(f"{path}: 'gauges' must be a list, not {type(raw).__name__}")
    samples = []
    for i, item in enumerate(raw):
        where = f"{path} gauge #{i}"
        if not isinstance(item, dict) or "name" not in item or "value" not in item:
            raise SchemaError(f"{where}: each gauge needs 'name', 'labels' and 'value'")
        labels = item.get("labels") or {}
        if not isinstance(labels, dict):
            raise SchemaError(f"{where}: 'labels' must be an object of label name to value")
        try:
            value = float(item["value"])
        except (TypeError, ValueError):
            raise SchemaError(f"{where}: value {item['value']!r} is not a number") from None
        sample = GaugeSample(str(item["name"]), value, {str(k): str(v) for k, v in labels.items()})
        _check_sample(sample, where)
        samples.append(sample)
    return GaugeFile(generated_at, tuple(samples))


def load_gauges(path: str | Path) -> GaugeFile:
    """Read and validate a gauges file written by :func:`write_gauges`.

    Raises :class:`~cartwise.errors.SchemaError` naming the file and the bad entry,
    or :class:`FileNotFoundError` if ``cartwise monitor run`` has not written it yet.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no gauges file at {path}; run `cartwise monitor run` to write it")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SchemaError(
            f"{path} is not valid JSON ({exc}); re-create it with `cartwise monitor run`"
        ) from exc
    return _parse(doc, path)


class GaugeFileCollector:
    """A prometheus_client collector that exposes the gauges file, re-read at each scrape.

    ``REGISTRY.register(GaugeFileCollector(gauges_path(data_dir)))``. A missing file
    exposes nothing; a malformed one is logged and exposes nothing, so a bad file
    never breaks ``/metrics``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def describe(self) -> list[Any]:
        return []  # unknown until the file is read; collected lazily

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            gauge_file = load_gauges(self.path)
        except FileNotFoundError:
            return
        except SchemaError as exc:
            logger.warning("not exposing monitoring gauges: %s", exc)
            return
        by_name: dict[str, list[GaugeSample]] = {}
        for sample in gauge_file.samples:
            by_name.setdefault(sample.name, []).append(sample)
        for name, samples in by_name.items():
            metric = _BY_NAME[name]
            family = GaugeMetricFamily(name, metric.help, labels=list(metric.labels))
            for sample in samples:
                family.add_metric([sample.labels[k] for k in metric.labels], sample.value)
            yield family
