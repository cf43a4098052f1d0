"""One-row on-demand evaluation (batched by function) equals the column-wise offline evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cartwise.features.catalog import CATALOG
from cartwise.features.definitions import FEATURE_TIME, OnDemandRow

REQUEST = {"amount_minor", FEATURE_TIME, "n_installments", "installment_interval_days"}


def _inputs(rng: np.random.Generator) -> dict[str, object]:
    produced = {od.name for od in CATALOG.on_demand}
    values: dict[str, object] = {}
    for od in CATALOG.on_demand:
        for name in od.feature_inputs:
            if name not in produced:
                draw = rng.random()
                values[name] = None if draw < 0.2 else 0.0 if draw < 0.3 else float(rng.integers(0, 50_000))
    values.update(
        {
            "amount_minor": float(rng.integers(100, 90_000)),
            FEATURE_TIME: int(1_770_000_000_000_000 + rng.integers(0, 10**12)),
            "n_installments": float(rng.choice([3, 4, 6, 12])),
            "installment_interval_days": float(rng.choice([14, 30])),
        }
    )
    return values


@pytest.mark.parametrize("seed", range(20))
def test_batched_row_equals_compute_on_demand(seed: int) -> None:
    values = _inputs(np.random.default_rng(seed))
    row = OnDemandRow(CATALOG.on_demand)(values)
    env = {k: (math.nan if v is None else v) for k, v in values.items()}
    expected = {name: float(np.asarray(v).ravel()[0]) for name, v in CATALOG.compute_on_demand(env).items()}
    assert row.keys() == expected.keys()
    for name, value in expected.items():
        if math.isnan(value):
            assert row[name] is None, name
        else:
            assert row[name] == value, name


def test_features_with_missing_inputs_are_left_out() -> None:
    derived = [od for od in CATALOG.on_demand if not od.request_inputs]
    assert derived, "the catalog defines derived features"
    assert OnDemandRow(derived)({}) == {}


def test_many_rows_at_once_equal_each_row_alone() -> None:
    """``many`` evaluates every row with one numpy call per function and gives each row's own answer,
    also when some rows lack inputs (those are evaluated alone)."""
    evaluate = OnDemandRow(CATALOG.on_demand)
    rows = [_inputs(np.random.default_rng(seed)) for seed in range(12)]
    assert evaluate.many(rows) == [evaluate(row) for row in rows]
    partial = [*rows[:3], {"amount_minor": 5_000.0}, rows[4]]
    assert evaluate.many(partial) == [evaluate(row) for row in partial]
    assert evaluate.many([]) == []
