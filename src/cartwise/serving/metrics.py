"""Prometheus metrics of the decision service, under the names in :mod:`cartwise.monitoring.metric_names`.

Each app gets its own registry (tests build several apps in one process). With
several uvicorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` (``cartwise serve`` does):
every worker then writes its samples there and ``/metrics`` merges them.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from cartwise.monitoring import metric_names as names
from cartwise.monitoring.gauges import GaugeFileCollector

__all__ = ["ServiceMetrics"]

_SCORE_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
_LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series only add noise to every scrape


def _counter_name(metric: names.MetricName) -> str:
    return metric.name.removesuffix("_total")  # prometheus_client appends _total itself


class ServiceMetrics:
    """The service's counters, histograms and gauges, and the monitoring gauges file."""

    def __init__(self, gauges_file: Path | None = None) -> None:
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            _counter_name(names.HTTP_REQUESTS_TOTAL),
            names.HTTP_REQUESTS_TOTAL.help,
            names.HTTP_REQUESTS_TOTAL.labels,
            registry=r,
        )
        self.http_latency = Histogram(
            names.HTTP_REQUEST_DURATION_SECONDS.name,
            names.HTTP_REQUEST_DURATION_SECONDS.help,
            names.HTTP_REQUEST_DURATION_SECONDS.labels,
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.decisions = Counter(
            _counter_name(names.DECISIONS_TOTAL),
            names.DECISIONS_TOTAL.help,
            names.DECISIONS_TOTAL.labels,
            registry=r,
        )
        self.degraded = Counter(
            _counter_name(names.DEGRADED_DECISIONS_TOTAL),
            names.DEGRADED_DECISIONS_TOTAL.help,
            names.DEGRADED_DECISIONS_TOTAL.labels,
            registry=r,
        )
        self.fraud_score = Histogram(
            names.FRAUD_SCORE.name, names.FRAUD_SCORE.help, buckets=_SCORE_BUCKETS, registry=r
        )
        self.default_probability = Histogram(
            names.DEFAULT_PROBABILITY.name, names.DEFAULT_PROBABILITY.help, buckets=_SCORE_BUCKETS, registry=r
        )
        self.decision_batch_size = Histogram(
            names.DECISION_BATCH_SIZE.name,
            names.DECISION_BATCH_SIZE.help,
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.model_info = Gauge(
            names.MODEL_INFO.name,
            names.MODEL_INFO.help,
            names.MODEL_INFO.labels,
            registry=r,
            multiprocess_mode="livemax",
        )
        self.model_trained = Gauge(
            names.MODEL_TRAINED_TIMESTAMP_SECONDS.name,
            names.MODEL_TRAINED_TIMESTAMP_SECONDS.help,
            names.MODEL_TRAINED_TIMESTAMP_SECONDS.labels,
            registry=r,
            multiprocess_mode="livemax",
        )
        self._gauges = GaugeFileCollector(gauges_file) if gauges_file is not None else None
        if self._gauges is not None and not self.multiprocess_dir:
            r.register(self._gauges)  # type: ignore[arg-type]
        self._served: dict[tuple[str, str], str] = {}

    def set_models(self, served: dict[tuple[str, str], tuple[str, float | None]]) -> None:
        """(model, alias) -> (version, trained-at) of what is served now; older versions drop to 0."""
        for (model, alias), (version, trained_at) in served.items():
            old = self._served.get((model, alias))
            if old is not None and old != version:
                self.model_info.labels(model, old, alias).set(0)
            self.model_info.labels(model, version, alias).set(1)
            self._served[(model, alias)] = version
            if trained_at is not None and alias == "champion":
                self.model_trained.labels(model).set(trained_at)

    def exposition(self) -> bytes:
        if not self.multiprocess_dir:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        if self._gauges is not None:
            merged.register(self._gauges)  # type: ignore[arg-type]
        return generate_latest(merged)
