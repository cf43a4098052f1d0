"""On the simulator's default run, monitoring flags the injected drift within a week and nothing before it."""

from __future__ import annotations

import pandas as pd
import pytest

from cartwise.data.simulator import SimulationConfig, run
from cartwise.monitoring.monitor import run_monitoring
from cartwise.monitoring.simulated_log import decision_log_from_simulation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_run():  # type: ignore[no-untyped-def]
    config = SimulationConfig()  # the default run: 50k customers, 120 days, drift from day 96
    result = run(config)
    log = decision_log_from_simulation(result.tables, reference_days=42, seed=config.seed)
    monitored = run_monitoring(
        log, result.tables["chargebacks"], result.tables["credit_outcomes"], reference_days=42
    )
    drift_start = pd.Timestamp(config.start) + pd.Timedelta(days=config.drift_day)
    return monitored, drift_start


def test_weekly_flags_start_within_a_week_of_the_drift_and_never_before(default_run) -> None:  # type: ignore[no-untyped-def]
    monitored, drift_start = default_run
    weeks = monitored.flagged_weeks()
    assert weeks, "the injected drift was not flagged"
    before = [w for w in weeks if w + pd.Timedelta(days=7) <= drift_start]
    assert not before, f"weeks flagged before the drift started on {drift_start:%Y-%m-%d}: {before}"
    assert weeks[0] <= drift_start + pd.Timedelta(days=7)
    # once it started, every later full week stays flagged
    summary = monitored.drift.period_summary("week")
    after = summary[summary["period_start"] >= weeks[0]]
    assert (after["n_major"] > 0).all()


def test_daily_flags_come_within_a_week_and_none_before(default_run) -> None:  # type: ignore[no-untyped-def]
    monitored, drift_start = default_run
    days = monitored.flagged_days()
    assert not [d for d in days if d < drift_start], "a day before the drift was flagged"
    assert days
    assert days[0] < drift_start + pd.Timedelta(days=7)


def test_the_drifting_inputs_are_the_customer_mix(default_run) -> None:  # type: ignore[no-untyped-def]
    monitored, drift_start = default_run
    week = monitored.flagged_weeks()[0]
    top = monitored.drift.top_features("week", week, top=3)
    assert top.iloc[0]["feature"] == "customer_tenure_days"  # the sign-up campaign's new accounts
    table = monitored.drift.table
    stable = table[
        (table["granularity"] == "week") & (table["period_start"] <= drift_start - pd.Timedelta(days=7))
    ]
    assert len(stable) > 0
    assert stable["psi"].max() < 0.1  # every input and score stable in the weeks before the drift
