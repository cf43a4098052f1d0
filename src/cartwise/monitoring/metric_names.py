"""Every Prometheus metric cartwise exports, named once.

The decision service registers the service metrics under these names; ``cartwise
monitor run`` writes the monitoring gauges to ``<data_dir>/monitoring/gauges.json``
(see :mod:`cartwise.monitoring.gauges`), which the service exposes on ``/metrics``.
The alert rules in ``deploy/prometheus/`` and the dashboards in ``deploy/grafana/``
use only these names; a test checks that.

With prometheus_client, register a counter under the name without ``_total``
(``Counter(DECISIONS_TOTAL.name.removesuffix("_total"), DECISIONS_TOTAL.help, DECISIONS_TOTAL.labels)``):
the client adds the suffix. The latency SLO rules need a 0.05 s bucket in
:data:`HTTP_REQUEST_DURATION_SECONDS` (the client's default buckets have it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALL_METRICS",
    "APPROVAL_RATE_REFERENCE",
    "DECISIONS_TOTAL",
    "DECISION_BATCH_SIZE",
    "DEFAULT_PROBABILITY",
    "DEGRADED_DECISIONS_TOTAL",
    "DRIFTED_FEATURES",
    "ESTIMATED_AUC",
    "ESTIMATED_BAD_RATE",
    "FEATURE_PSI",
    "FRAUD_SCORE",
    "HTTP_REQUESTS_TOTAL",
    "HTTP_REQUEST_DURATION_SECONDS",
    "LABEL_COVERAGE",
    "MODEL_INFO",
    "MODEL_TRAINED_TIMESTAMP_SECONDS",
    "MONITOR_GAUGES",
    "MONITOR_LAST_RUN_TIMESTAMP_SECONDS",
    "REALISED_AUC",
    "REALISED_BAD_RATE",
    "SCORE_PSI",
    "SERVICE_METRICS",
    "MetricName",
    "exported_series_names",
]

MetricKind = Literal["counter", "histogram", "gauge"]


@dataclass(frozen=True)
class MetricName:
    """One exported metric: its name, kind, label names and one-line help."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()

    def series_names(self) -> tuple[str, ...]:
        """Names of the time series Prometheus stores for this metric."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_count", f"{self.name}_sum")
        return (self.name,)

    def __str__(self) -> str:
        return self.name


# -- exported by the decision service --------------------------------------
HTTP_REQUESTS_TOTAL = MetricName(
    "cartwise_http_requests_total",
    "counter",
    "HTTP requests answered, by route, method and status code.",
    ("route", "method", "status"),
)
HTTP_REQUEST_DURATION_SECONDS = MetricName(
    "cartwise_http_request_duration_seconds",
    "histogram",
    "Time to answer an HTTP request, in seconds.",
    ("route", "method"),
)
DECISIONS_TOTAL = MetricName(
    "cartwise_decisions_total",
    "counter",
    "Checkout decisions made, by outcome (approve, review, decline).",
    ("outcome",),
)
DEGRADED_DECISIONS_TOTAL = MetricName(
    "cartwise_degraded_decisions_total",
    "counter",
    "Decisions made on a fallback path (missing features, model unavailable), by reason.",
    ("reason",),
)
FRAUD_SCORE = MetricName(
    "cartwise_fraud_score", "histogram", "Calibrated fraud probability of each checkout."
)
DEFAULT_PROBABILITY = MetricName(
    "cartwise_default_probability",
    "histogram",
    "Calibrated probability that the shopper defaults on the plan.",
)
DECISION_BATCH_SIZE = MetricName(
    "cartwise_decision_batch_size",
    "histogram",
    "Checkouts a worker decided together (those that arrived while it was busy).",
)
MODEL_INFO = MetricName(
    "cartwise_model_info",
    "gauge",
    "Models being served (value 1), by model name, version and registry alias.",
    ("model", "version", "alias"),
)
MODEL_TRAINED_TIMESTAMP_SECONDS = MetricName(
    "cartwise_model_trained_timestamp_seconds",
    "gauge",
    "When the served model was trained, Unix seconds.",
    ("model",),
)

# -- computed by `cartwise monitor run`, exposed by the service ------------
FEATURE_PSI = MetricName(
    "cartwise_feature_psi",
    "gauge",
    "Population stability index of a model input over the last full week vs the training reference.",
    ("model", "feature"),
)
SCORE_PSI = MetricName(
    "cartwise_score_psi",
    "gauge",
    "Population stability index of a model's score over the last full week.",
    ("model",),
)
DRIFTED_FEATURES = MetricName(
    "cartwise_drifted_features",
    "gauge",
    "Number of a model's inputs whose last-week PSI is at least 0.25.",
    ("model",),
)
ESTIMATED_AUC = MetricName(
    "cartwise_estimated_auc",
    "gauge",
    "ROC AUC estimated from calibrated scores (CBPE) for the last full week.",
    ("model",),
)
REALISED_AUC = MetricName(
    "cartwise_realised_auc",
    "gauge",
    "ROC AUC on labels known so far, for the most recent matured cohort week.",
    ("model",),
)
ESTIMATED_BAD_RATE = MetricName(
    "cartwise_estimated_bad_rate",
    "gauge",
    "Bad rate (fraud or default) expected from the scores, last full week.",
    ("model",),
)
REALISED_BAD_RATE = MetricName(
    "cartwise_realised_bad_rate",
    "gauge",
    "Bad rate on labels known so far, most recent matured cohort week.",
    ("model",),
)
LABEL_COVERAGE = MetricName(
    "cartwise_label_coverage",
    "gauge",
    "Share of eventual labels already known for the cohort the realised figures describe.",
    ("model",),
)
APPROVAL_RATE_REFERENCE = MetricName(
    "cartwise_approval_rate_reference",
    "gauge",
    "Approval rate over the reference window (the alert baseline).",
)
MONITOR_LAST_RUN_TIMESTAMP_SECONDS = MetricName(
    "cartwise_monitor_last_run_timestamp_seconds",
    "gauge",
    "When `cartwise monitor run` last wrote the gauges.",
)

SERVICE_METRICS: tuple[MetricName, ...] = (
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    DECISIONS_TOTAL,
    DEGRADED_DECISIONS_TOTAL,
    FRAUD_SCORE,
    DEFAULT_PROBABILITY,
    DECISION_BATCH_SIZE,
    MODEL_INFO,
    MODEL_TRAINED_TIMESTAMP_SECONDS,
)
"""Metrics the decision service registers itself."""

MONITOR_GAUGES: tuple[MetricName, ...] = (
    FEATURE_PSI,
    SCORE_PSI,
    DRIFTED_FEATURES,
    ESTIMATED_AUC,
    REALISED_AUC,
    ESTIMATED_BAD_RATE,
    REALISED_BAD_RATE,
    LABEL_COVERAGE,
    APPROVAL_RATE_REFERENCE,
    MONITOR_LAST_RUN_TIMESTAMP_SECONDS,
)
"""Gauges ``cartwise monitor run`` writes to gauges.json for the service to expose."""

ALL_METRICS: tuple[MetricName, ...] = SERVICE_METRICS + MONITOR_GAUGES


def exported_series_names() -> frozenset[str]:
    """Every series name a query may use (histograms add _bucket, _count and _sum)."""
    return frozenset(s for m in ALL_METRICS for s in m.series_names())
