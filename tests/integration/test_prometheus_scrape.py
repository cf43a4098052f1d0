"""A real Prometheus (Debian's package) loads cartwise's rules and dashboards against a live target.

The target is a prometheus_client HTTP server in this process that registers every
service metric under its cartwise name, with fixed values so the rules and
dashboard queries have known answers, and the monitoring gauges through
:class:`GaugeFileCollector`, exactly as the service does. The scrape of the running
service itself is tests/e2e/test_prometheus_service.py.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from cartwise.monitoring import metric_names as mn
from cartwise.monitoring.gauges import GaugeFileCollector, GaugeSample, write_gauges
from prometheus_server import free_port, query, run_prometheus, wait_for

pytestmark = pytest.mark.prometheus

REPO = Path(__file__).resolve().parents[2]


_free_port = free_port


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def metrics_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a live /metrics endpoint exporting cartwise's metric names."""
    registry = CollectorRegistry()
    requests = Counter(
        mn.HTTP_REQUESTS_TOTAL.name.removesuffix("_total"),
        mn.HTTP_REQUESTS_TOTAL.help,
        mn.HTTP_REQUESTS_TOTAL.labels,
        registry=registry,
    )
    duration = Histogram(
        mn.HTTP_REQUEST_DURATION_SECONDS.name,
        mn.HTTP_REQUEST_DURATION_SECONDS.help,
        mn.HTTP_REQUEST_DURATION_SECONDS.labels,
        registry=registry,
    )
    decisions = Counter(
        mn.DECISIONS_TOTAL.name.removesuffix("_total"),
        mn.DECISIONS_TOTAL.help,
        mn.DECISIONS_TOTAL.labels,
        registry=registry,
    )
    degraded = Counter(
        mn.DEGRADED_DECISIONS_TOTAL.name.removesuffix("_total"),
        mn.DEGRADED_DECISIONS_TOTAL.help,
        mn.DEGRADED_DECISIONS_TOTAL.labels,
        registry=registry,
    )
    fraud = Histogram(
        mn.FRAUD_SCORE.name, mn.FRAUD_SCORE.help, registry=registry, buckets=(0.01, 0.05, 0.1, 0.2, 0.5, 1.0)
    )
    default = Histogram(
        mn.DEFAULT_PROBABILITY.name,
        mn.DEFAULT_PROBABILITY.help,
        registry=registry,
        buckets=(0.01, 0.05, 0.1, 0.2, 0.5, 1.0),
    )
    info = Gauge(mn.MODEL_INFO.name, mn.MODEL_INFO.help, mn.MODEL_INFO.labels, registry=registry)
    trained = Gauge(
        mn.MODEL_TRAINED_TIMESTAMP_SECONDS.name,
        mn.MODEL_TRAINED_TIMESTAMP_SECONDS.help,
        mn.MODEL_TRAINED_TIMESTAMP_SECONDS.labels,
        registry=registry,
    )
    for i in range(50):
        requests.labels("/v1/decisions", "POST", "200").inc()
        duration.labels("/v1/decisions", "POST").observe(0.004 + i * 0.0001)
        decisions.labels("approve" if i % 5 else "decline").inc()
        fraud.observe(i / 100)
        default.observe(i / 200)
    degraded.labels("online_store_timeout").inc()
    info.labels("fraud", "3", "champion").set(1)
    trained.labels("fraud").set(time.time() - 86400)
    gauges = tmp_path_factory.mktemp("monitoring") / "gauges.json"
    write_gauges(
        gauges,
        [
            GaugeSample(mn.SCORE_PSI.name, 0.31, {"model": "fraud"}),
            GaugeSample(mn.FEATURE_PSI.name, 0.42, {"model": "fraud", "feature": "customer_tenure_days"}),
            GaugeSample(mn.DRIFTED_FEATURES.name, 1, {"model": "fraud"}),
            GaugeSample(mn.ESTIMATED_AUC.name, 0.88, {"model": "fraud"}),
            GaugeSample(mn.APPROVAL_RATE_REFERENCE.name, 0.8),
            GaugeSample(mn.MONITOR_LAST_RUN_TIMESTAMP_SECONDS.name, time.time()),
        ],
    )
    registry.register(GaugeFileCollector(gauges))  # type: ignore[arg-type]
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield f"127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def prometheus(metrics_target: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real Prometheus scraping ``metrics_target`` every second, with cartwise's rules loaded."""
    with run_prometheus(metrics_target, tmp_path_factory.mktemp("prometheus")) as url:
        yield url


_query = query
_wait_for = wait_for


def test_prometheus_scrapes_the_service_metrics(prometheus: str, metrics_target: str) -> None:
    rows = _wait_for(prometheus, "sum by (outcome) (cartwise_decisions_total)")
    counts = {r["metric"]["outcome"]: float(r["value"][1]) for r in rows}
    assert counts == {"approve": 40.0, "decline": 10.0}
    targets = _get(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
    assert [(t["scrapeUrl"], t["health"]) for t in targets] == [(f"http://{metrics_target}/metrics", "up")]
    p99 = _wait_for(
        prometheus, "histogram_quantile(0.99, sum by (le) (cartwise_http_request_duration_seconds_bucket))"
    )
    assert 0.005 <= float(p99[0]["value"][1]) <= 0.01


def test_prometheus_sees_the_monitoring_gauges_from_the_file(prometheus: str) -> None:
    rows = _wait_for(prometheus, 'cartwise_feature_psi{feature="customer_tenure_days"}')
    assert float(rows[0]["value"][1]) == pytest.approx(0.42)
    assert rows[0]["metric"]["model"] == "fraud"


def test_the_alert_rules_load_and_drift_fires(prometheus: str) -> None:
    _wait_for(prometheus, "cartwise_score_psi")
    groups = _get(f"{prometheus}/api/v1/rules")["data"]["groups"]
    assert {g["name"] for g in groups} == {"cartwise-latency-slo", "cartwise-service", "cartwise-models"}
    broken = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r.get("health") == "err"]
    assert not broken
    deadline = time.monotonic() + 30
    while True:  # CartwiseScoreDrift waits 5 minutes before firing: pending is what a live run can show
        alerts = _get(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
        states = {a["labels"]["alertname"]: a["state"] for a in alerts}
        if "CartwiseScoreDrift" in states:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"CartwiseScoreDrift never became pending; alerts: {alerts}")
        time.sleep(0.5)
    assert states["CartwiseScoreDrift"] == "pending"
    assert "CartwiseModelStale" not in states  # trained a day ago


def test_every_dashboard_query_runs_on_the_real_engine(prometheus: str) -> None:
    _wait_for(prometheus, "cartwise_decisions_total")
    for path in sorted((REPO / "deploy" / "grafana").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                reply = _query(prometheus, target["expr"])
                assert reply["status"] == "success", f"{path.name} / {panel['title']}: {reply}"
