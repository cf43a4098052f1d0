"""Every Grafana panel and alert rule queries only metrics cartwise exports (or records)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from cartwise.monitoring.metric_names import ALL_METRICS, exported_series_names

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"

_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names_in(expr: str) -> set[str]:
    """Metric (series) names a PromQL expression selects: identifiers that are not functions or keywords."""
    text = _STRING.sub('""', expr)
    text = _GROUPING.sub(" ", text)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


def recorded_names() -> set[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["record"] for g in groups for rule in g["rules"] if "record" in rule}


def dashboard_exprs() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(GRAFANA.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                out.append((path.name, panel["title"], target["expr"]))
    return out


def test_extractor_finds_metrics_and_skips_functions_labels_and_keywords() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, route) (rate(cartwise_http_request_duration_seconds_bucket"
        '{route!~"/metrics|x"}[5m]))) / on() group_left max(cartwise_approval_rate_reference) '
        "and time() - cartwise:latency_slo_miss:ratio_rate5m offset 5m > 1e-3"
    )
    assert metric_names_in(expr) == {
        "cartwise_http_request_duration_seconds_bucket",
        "cartwise_approval_rate_reference",
        "cartwise:latency_slo_miss:ratio_rate5m",
    }


def test_there_are_three_dashboards_with_panels() -> None:
    names = {p.name for p in GRAFANA.glob("*.json")}
    assert names == {"service-health.json", "decisions.json", "model-health.json"}
    assert len(dashboard_exprs()) >= 20


@pytest.mark.parametrize(("dashboard", "panel", "expr"), dashboard_exprs())
def test_every_panel_queries_an_exported_metric(dashboard: str, panel: str, expr: str) -> None:
    names = metric_names_in(expr)
    assert names, f"{dashboard} / {panel}: no metric in {expr!r}"
    unknown = names - exported_series_names() - recorded_names()
    assert not unknown, f"{dashboard} / {panel} queries metrics cartwise does not export: {sorted(unknown)}"


def test_alert_rules_use_only_exported_metrics() -> None:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    exprs = [rule["expr"] for g in groups for rule in g["rules"]]
    used = set().union(*(metric_names_in(e) for e in exprs))
    unknown = used - exported_series_names() - recorded_names()
    assert not unknown, f"alerts.yml uses unknown metrics {sorted(unknown)}"
    # every service metric and gauge that an alert should watch is watched
    for name in (
        "cartwise_http_requests_total",
        "cartwise_degraded_decisions_total",
        "cartwise_score_psi",
        "cartwise_model_trained_timestamp_seconds",
        "cartwise_approval_rate_reference",
    ):
        assert name in used


def test_a_misspelt_metric_is_caught() -> None:
    unknown = metric_names_in("rate(cartwise_decision_total[5m])") - exported_series_names()
    assert unknown == {"cartwise_decision_total"}


def test_metric_names_are_unique_and_prefixed() -> None:
    names = [m.name for m in ALL_METRICS]
    assert len(names) == len(set(names))
    assert all(n.startswith("cartwise_") and m.help for n, m in zip(names, ALL_METRICS, strict=True))
