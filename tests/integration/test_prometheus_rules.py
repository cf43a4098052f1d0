"""The alert rules pass promtool's checks and their unit tests (firing and quiet cases for each alert)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.prometheus

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:  # make test installs it (scripts/system-deps.sh): a missing tool is a failure
        pytest.fail(
            "promtool is not installed; run `bash scripts/system-deps.sh` as root (Debian package prometheus)"
        )
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=120
    )


def test_rules_and_config_are_valid() -> None:
    rules = _run("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = _run("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_promtool_unit_tests_pass() -> None:
    result = _run("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            (firing if case["exp_alerts"] else quiet).add(case["alertname"])
    assert alerts == firing == quiet


def test_a_broken_expectation_makes_promtool_fail(tmp_path: Path) -> None:
    """The unit tests can fail: expecting an alert where none fires is reported."""
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())
    (tmp_path / "alerts.yml").write_text((PROMETHEUS_DIR / "alerts.yml").read_text())
    quiet = next(t for t in tests["tests"] if t["name"].startswith("error rate quiet"))
    quiet["alert_rule_test"][0]["exp_alerts"] = [{"exp_labels": {"severity": "page"}}]
    tests["tests"] = [quiet]
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [_promtool(), "test", "rules", "alerts_test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CartwiseHighErrorRate" in result.stdout + result.stderr
