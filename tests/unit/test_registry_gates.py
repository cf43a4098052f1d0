"""Promotion gates: pass/fail at the threshold, signed margins, messages naming gate and shortfall."""

from __future__ import annotations

import pytest

from cartwise.registry.gates import (
    GateResult,
    calibration_gate,
    describe_failures,
    gate_result,
    gates_from_json,
    gates_to_json,
    primary_metric_gate,
    schema_gate,
)
from cartwise.registry.schema import InputSchema


def test_primary_metric_within_tolerance_passes() -> None:
    gate = primary_metric_gate(
        "roc_auc", 0.797, 0.800, higher_is_better=True, tolerance=0.005, champion_version=3
    )
    assert gate.passed
    assert gate.threshold == pytest.approx(0.795)
    assert gate.margin == pytest.approx(0.002)
    assert "champion v3 0.8000" in gate.message


def test_primary_metric_worse_fails_with_margin() -> None:
    gate = primary_metric_gate("roc_auc", 0.70, 0.80, higher_is_better=True, tolerance=0.005)
    assert not gate.passed
    assert gate.margin == pytest.approx(-0.095)
    assert "short by 0.0950" in gate.message


def test_lower_is_better_metric() -> None:
    better = primary_metric_gate("log_loss", 0.30, 0.31, higher_is_better=False, tolerance=0.0)
    worse = primary_metric_gate("log_loss", 0.33, 0.31, higher_is_better=False, tolerance=0.01)
    assert better.passed
    assert better.margin == pytest.approx(0.01)
    assert not worse.passed
    assert worse.margin == pytest.approx(-0.01)


def test_no_champion_passes_primary_gate() -> None:
    gate = primary_metric_gate("ndcg_at_10", 0.2, None, higher_is_better=True, tolerance=0.005)
    assert gate.passed
    assert "no champion" in gate.message


def test_tie_at_threshold_passes() -> None:
    assert gate_result("x", 0.5, 0.5, higher_is_better=True, what="x").passed
    assert gate_result("x", 0.5, 0.5, higher_is_better=False, what="x").passed


def test_calibration_gate() -> None:
    assert calibration_gate(0.02, bound=0.05).passed
    failed = calibration_gate(0.08, bound=0.05)
    assert not failed.passed
    assert failed.margin == pytest.approx(-0.03)
    assert "short by 0.0300" in failed.message
    assert calibration_gate(None, bound=0.05).passed  # recommenders: no probabilities


def test_schema_gate_superset_passes_and_drop_or_retype_fails() -> None:
    champion = InputSchema.from_pairs([("amount", "double"), ("device_count", "long")])
    superset = InputSchema.from_pairs([("amount", "double"), ("device_count", "long"), ("tenure", "double")])
    dropped = InputSchema.from_pairs([("amount", "double")])
    retyped = InputSchema.from_pairs([("amount", "string"), ("device_count", "long")])
    assert schema_gate(superset, champion).passed
    assert schema_gate(champion, champion).passed
    gate = schema_gate(dropped, champion)
    assert not gate.passed
    assert "'device_count' (long) was dropped" in gate.message
    gate = schema_gate(retyped, champion)
    assert not gate.passed
    assert "'amount' changed type double -> string" in gate.message


def test_describe_failures_names_each_failed_gate() -> None:
    gates = [
        primary_metric_gate("roc_auc", 0.6, 0.8, higher_is_better=True, tolerance=0.0),
        calibration_gate(0.01, bound=0.05),
        GateResult("fairness", False, 0.7, 0.8, -0.1, "disparate impact 0.7 < 0.8"),
    ]
    text = describe_failures(gates)
    assert text.startswith("gate primary_metric failed")
    assert "gate fairness failed: disparate impact" in text
    assert "calibration" not in text
    assert describe_failures(gates[1:2]) == ""


def test_gates_json_round_trip() -> None:
    gates = (calibration_gate(0.03, bound=0.05), calibration_gate(None, bound=0.05))
    assert gates_from_json(gates_to_json(gates)) == gates
