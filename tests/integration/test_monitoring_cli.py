"""`cartwise monitor run` and `cartwise monitor report` on a simulated marketplace in a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cartwise.cli.main import _register, app
from cartwise.config import load_settings
from cartwise.errors import ConfigError
from cartwise.monitoring.gauges import gauges_path, load_gauges

_register()
runner = CliRunner()
# 90 days: the drift starts on day 72, 2026-03-14
# Large enough that the drift wave (25% of customers, joining from day 72) shows within its first week.
SIM = ["--customers", "20000", "--days", "90", "--seed", "5"]
DRIFT_START = pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=72)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARTWISE_CONFIG", raising=False)
    monkeypatch.delenv("CARTWISE_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("monitor")
    result = runner.invoke(app, ["--data-dir", str(data_dir), "simulate", *SIM])
    assert result.exit_code == 0, result.output
    return data_dir


def test_monitor_run_writes_the_gauges_the_alerts_read(data_dir: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(data_dir), "monitor", "run", "--reference-days", "42"])
    assert result.exit_code == 0, result.output
    gauge_file = load_gauges(gauges_path(data_dir))
    assert dt.datetime.now(dt.UTC) - gauge_file.generated_at < dt.timedelta(minutes=5)
    by_key = {(s.name, s.labels.get("model"), s.labels.get("feature")): s.value for s in gauge_file.samples}
    for model in ("fraud", "credit"):
        assert 0 <= by_key[("cartwise_score_psi", model, None)] < 5
        assert 0.5 < by_key[("cartwise_estimated_auc", model, None)] < 1
    assert 0.5 < by_key[("cartwise_approval_rate_reference", None, None)] <= 1
    # the last full week is after the drift: the campaign's new accounts show in customer tenure
    assert by_key[("cartwise_feature_psi", "fraud", "customer_tenure_days")] >= 0.25
    assert by_key[("cartwise_drifted_features", "fraud", None)] >= 1
    assert "weeks flagged for drift" in result.output


def test_monitor_report_is_self_contained_html_with_plots(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(
        app,
        ["--data-dir", str(data_dir), "monitor", "report", "--out", str(out), "--drift-start", "2026-03-14"],
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 4
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing loaded from elsewhere
    for heading in ("Drift over time", "Label maturity", "Realised vs estimated performance", "Calibration"):
        assert heading in page
    assert "Drift flagged" in page


def test_drift_is_flagged_after_the_event_and_not_before(data_dir: Path) -> None:
    from cartwise.cli.monitor_commands import monitor_once

    result = monitor_once(load_settings(data_dir=data_dir), reference_days=42, as_of=None, n_jobs=1)
    weeks = result.flagged_weeks()
    assert weeks, "the drift event was not flagged"
    assert all(w + pd.Timedelta(days=7) > DRIFT_START for w in weeks), f"flagged before the drift: {weeks}"
    assert weeks[0] <= DRIFT_START + pd.Timedelta(days=7)


def test_monitor_without_data_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "monitor", "run"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert "cartwise simulate" in str(result.exception)


def test_bad_as_of_is_refused(data_dir: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(data_dir), "monitor", "run", "--as-of", "yesterday-ish"])
    assert isinstance(result.exception, ConfigError)
    assert "ISO 8601" in str(result.exception)


def test_a_decision_log_table_in_the_warehouse_is_used(data_dir: Path) -> None:
    """Once the service logs decisions, monitoring reads them instead of scoring simulated checkouts."""
    from cartwise.bootstrap import make_warehouse
    from cartwise.cli.monitor_commands import load_monitoring_inputs
    from cartwise.monitoring.decision_log import DECISION_LOG_SCHEMA, DECISION_LOG_TABLE

    settings = load_settings(data_dir=data_dir)
    simulated, *_ = load_monitoring_inputs(settings)
    with make_warehouse(settings) as warehouse:
        warehouse.write_table(DECISION_LOG_TABLE, simulated.slice(0, simulated.num_rows - 100))
    log, _, _, source = load_monitoring_inputs(settings)
    assert source == "decision_log table"
    assert log.num_rows == simulated.num_rows - 100
    assert log.schema.equals(DECISION_LOG_SCHEMA)
    result = runner.invoke(app, ["--data-dir", str(data_dir), "monitor", "run"])
    assert result.exit_code == 0, result.output
    assert "no decision_log table yet" not in result.output


def test_the_decision_services_own_log_is_monitored_once_it_spans_the_reference_window(
    data_dir: Path,
) -> None:
    """Decisions the service logged (its SQLite file under the data dir) are what `monitor run` reads,
    once they cover more than the reference window; a log of a few days is not monitored yet."""
    from cartwise.cli.monitor_commands import load_monitoring_inputs
    from cartwise.serving.bootstrap import decision_log_for
    from cartwise.serving.decision_log import DecisionRecord, SqliteDecisionLog

    settings = load_settings(data_dir=data_dir)
    reference, *_ = load_monitoring_inputs(settings)
    rows = reference.to_pylist()
    log = decision_log_for(settings)
    assert isinstance(log, SqliteDecisionLog)

    def record(row: dict[str, object]) -> DecisionRecord:
        fields = {
            k: v
            for k, v in row.items()
            if k not in ("decided_at", "numeric_features", "categorical_features")
        }
        return DecisionRecord(
            **fields,  # type: ignore[arg-type]
            decided_at_us=int(row["decided_at"].timestamp() * 1_000_000),  # type: ignore[attr-defined]
            numeric_features=dict(row["numeric_features"] or []),  # type: ignore[arg-type]
            categorical_features=dict(row["categorical_features"] or []),  # type: ignore[arg-type]
        )

    first_day = min(r["decided_at"] for r in rows)  # type: ignore[type-var]
    try:
        log.start()
        for row in rows:
            if row["decided_at"] < first_day + dt.timedelta(days=5):  # type: ignore[operator]
                log.record(record(row))
        log.flush()
        _, _, _, source = load_monitoring_inputs(settings, reference_days=42)
        assert source != "the decision service's log"  # five days: less than the reference window
        for row in rows:
            if row["decided_at"] >= first_day + dt.timedelta(days=5):  # type: ignore[operator]
                log.record(record(row))
        log.close()
        served, _, _, source = load_monitoring_inputs(settings, reference_days=42)
        assert source == "the decision service's log"
        assert served.num_rows == reference.num_rows
        assert sorted(served.column("checkout_id").to_pylist()) == sorted(
            reference.column("checkout_id").to_pylist()
        )
        result = runner.invoke(app, ["--data-dir", str(data_dir), "monitor", "run"])
        assert result.exit_code == 0, result.output
    finally:
        log.close()
        log.path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(log.path) + suffix).unlink(missing_ok=True)
