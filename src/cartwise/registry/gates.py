"""Promotion gates: what a challenger must show before it may replace the champion.

Each gate returns a :class:`GateResult`. ``margin`` is signed: how far inside the
threshold the value is (positive: passed with room to spare; negative: failed by
that much), so a refusal can say which gate failed and by how much.

- ``primary_metric``: the challenger's primary metric on the out-of-time holdout is
  better than or equal to the champion's on the same holdout, within ``tolerance``.
- ``calibration``: expected calibration error ≤ ``max_calibration_error``.
- ``input_schema``: the challenger accepts every input of the champion with the same type.
- anything a model kind adds (credit: fairness), built with :func:`gate_result`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cartwise.registry.schema import InputSchema

__all__ = [
    "GatePolicy",
    "GateResult",
    "all_passed",
    "calibration_gate",
    "describe_failures",
    "gate_result",
    "gates_from_json",
    "gates_to_json",
    "primary_metric_gate",
    "schema_gate",
]


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate."""

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    margin: float | None
    message: str


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds for the standard gates (defaults are cartwise's documented policy)."""

    tolerance: float = 0.005
    """How much worse than the champion the primary metric may be (absolute)."""
    max_calibration_error: float = 0.05
    """Upper bound on expected calibration error (10 equal-width bins) on the holdout."""


def gate_result(
    name: str, value: float, threshold: float, *, higher_is_better: bool, what: str
) -> GateResult:
    """A threshold gate: passes when ``value`` is on the good side of ``threshold`` (ties pass)."""
    margin = value - threshold if higher_is_better else threshold - value
    passed = margin >= -1e-12
    relation = "≥" if higher_is_better else "≤"
    if passed:
        message = f"{what} {value:.4f} {relation} {threshold:.4f} (margin {margin:+.4f})"
    else:
        message = f"{what} {value:.4f} is not {relation} {threshold:.4f}: short by {-margin:.4f}"
    return GateResult(name, passed, float(value), float(threshold), float(margin), message)


def primary_metric_gate(
    metric: str,
    challenger: float,
    champion: float | None,
    *,
    higher_is_better: bool,
    tolerance: float,
    champion_version: int | None = None,
) -> GateResult:
    """Challenger better than or equal to the champion within ``tolerance`` on the same holdout."""
    if champion is None:
        return GateResult(
            "primary_metric",
            True,
            float(challenger),
            None,
            None,
            f"{metric} {challenger:.4f}; no champion yet",
        )
    threshold = champion - tolerance if higher_is_better else champion + tolerance
    against = f"champion v{champion_version}" if champion_version is not None else "the champion"
    what = f"{metric} (vs {against} {champion:.4f}, tolerance {tolerance:g})"
    return gate_result("primary_metric", challenger, threshold, higher_is_better=higher_is_better, what=what)


def calibration_gate(calibration_error: float | None, *, bound: float) -> GateResult:
    """Expected calibration error within ``bound`` (not applicable to models without probabilities)."""
    if calibration_error is None:
        return GateResult(
            "calibration", True, None, bound, None, "not applicable: the model outputs no probabilities"
        )
    return gate_result(
        "calibration", calibration_error, bound, higher_is_better=False, what="expected calibration error"
    )


def schema_gate(challenger: InputSchema, champion: InputSchema | None) -> GateResult:
    """The challenger accepts every input of the champion, with the same types."""
    if champion is None:
        return GateResult(
            "input_schema", True, 0.0, 0.0, 0.0, f"{len(challenger.columns)} inputs; no champion yet"
        )
    problems = challenger.incompatibilities(champion)
    if not problems:
        added = len(set(challenger.names) - set(champion.names))
        return GateResult(
            "input_schema", True, 0.0, 0.0, 0.0, f"compatible with the champion ({added} inputs added)"
        )
    return GateResult(
        "input_schema",
        False,
        float(len(problems)),
        0.0,
        -float(len(problems)),
        f"{len(problems)} incompatible input(s): " + "; ".join(problems),
    )


def all_passed(results: Iterable[GateResult]) -> bool:
    return all(r.passed for r in results)


def describe_failures(results: Sequence[GateResult]) -> str:
    """One line per failed gate: its name and its message (which says by how much)."""
    return "; ".join(f"gate {r.name} failed: {r.message}" for r in results if not r.passed)


def gates_to_json(results: Sequence[GateResult]) -> str:
    return json.dumps([asdict(r) for r in results], separators=(",", ":"))


def gates_from_json(text: str) -> tuple[GateResult, ...]:
    raw: list[Mapping[str, Any]] = json.loads(text)
    return tuple(
        GateResult(
            name=str(r["name"]),
            passed=bool(r["passed"]),
            value=None if r.get("value") is None else float(r["value"]),
            threshold=None if r.get("threshold") is None else float(r["threshold"]),
            margin=None if r.get("margin") is None else float(r["margin"]),
            message=str(r.get("message", "")),
        )
        for r in raw
    )
