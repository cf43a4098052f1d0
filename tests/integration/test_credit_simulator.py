"""Credit evaluation on the simulator through a real DuckDB warehouse and the point-in-time feature platform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator import SimulationConfig, simulate
from cartwise.models.credit.evaluate import (
    SIMULATOR_CREDIT_FEATURES,
    evaluate_credit,
    load_simulator_credit,
    performance_labels,
)
from cartwise.models.credit.features import is_protected


@pytest.mark.slow
def test_simulator_credit_report_end_to_end(duckdb_path: Path) -> None:
    warehouse = DuckDBWarehouse(duckdb_path)
    for name, table in simulate(SimulationConfig(customers=1_500, days=150, seed=3)).items():
        warehouse.write_table(name, table)
    data = load_simulator_credit(warehouse)
    outcomes = warehouse.read_table("credit_outcomes").to_pandas()
    labels = performance_labels(warehouse)
    end = labels["window_end"].max()
    earlier = performance_labels(warehouse, as_of=end - pd.Timedelta(days=30))
    chargebacks = warehouse.read_table("chargebacks").to_pandas()
    warehouse.close()

    # Point in time: every label's window has elapsed, and a label set at an earlier cut-off is
    # a subset of the later one with the same values (a label never changes once given).
    assert (labels["window_end"] <= end).all()
    assert (earlier["window_end"] <= end - pd.Timedelta(days=30)).all()
    assert 0 < len(earlier) < len(labels)
    assert earlier.index.isin(labels.index).all()
    assert (labels.loc[earlier.index, "defaulted"] == earlier["defaulted"]).all()
    assert not labels.index.isin(chargebacks["checkout_id"]).any()  # fraud is not a credit outcome
    # On resolved genuine orders the label is credit_outcomes' default known within the window.
    known = outcomes.set_index("checkout_id")[["defaulted", "known_at"]].add_suffix("_o")
    resolved = labels.join(known, how="inner")
    expected = resolved["defaulted_o"] & (
        pd.to_datetime(resolved["known_at_o"], utc=True) <= resolved["window_end"]
    )
    assert len(resolved) > 300
    assert (resolved["defaulted"] == expected).all()
    assert 0.02 < labels["defaulted"].mean() < 0.25

    assert list(data.X.columns) == [f.name for f in SIMULATOR_CREDIT_FEATURES]
    assert not [c for c in data.X.columns if is_protected(c)]
    assert set(data.protected.columns) == {"age_band", "gender"}
    assert len(data.X) == len(data.y) == len(data.orders) > 300
    assert data.orders["created_at"].is_monotonic_increasing  # oldest first: the split is by time
    # Point in time: a checkout's count of earlier defaults only holds outcomes known before it.
    defaults = outcomes[outcomes["defaulted"]]
    rows = data.orders.sample(120, random_state=0)
    for i, order in rows.iterrows():
        mine = defaults[defaults["customer_id"] == order["customer_id"]]
        before = int((mine["known_at"] < order["created_at"]).sum())
        upto = int((mine["known_at"] <= order["created_at"]).sum())
        value = data.X.at[i, "customer__defaults__count__all"]
        assert before <= (0 if np.isnan(value) else value) <= upto

    result = evaluate_credit(data, test_share=0.3)
    assert set(result.metrics["model"]) == {"monotone XGBoost", "WoE scorecard"}
    assert result.metrics["n_test"].iat[0] == len(data.y) - int(len(data.y) * 0.7)
    for name in result.models:
        curve = result.profit[name]
        assert np.all(np.diff(curve["approval_rate"]) >= 0)  # a looser appetite never approves fewer
        assert result.bands[name]["n"].sum() == result.metrics["n_test"].iat[0]
        groups = result.fairness[name].to_frame()
        assert set(groups["attribute"]) == {"age_band", "gender"}
