"""``cartwise pipeline run``: the whole chain for every model, one after another.

For each model: build its frames from the warehouse (feature platform) → train →
evaluate against the champion on the same out-of-time holdout → gate → register as
challenger → promote when allowed. A model that fails does not stop the others; the
result says which failed and why (the command then exits non-zero, so a CronJob
run shows as failed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cartwise.bootstrap import make_warehouse
from cartwise.config import Settings
from cartwise.errors import CartwiseError
from cartwise.pipelines.base import TrainContext
from cartwise.pipelines.lifecycle import TrainOutcome, train_model
from cartwise.pipelines.trainers import get_trainer, trainer_names
from cartwise.registry.gates import GatePolicy
from cartwise.registry.registry import ModelRegistry

__all__ = ["ModelRunResult", "run_pipeline"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelRunResult:
    """One model's outcome in a pipeline run: what was trained and decided, or the error."""

    model: str
    outcome: TrainOutcome | None
    error: str | None


def run_pipeline(
    settings: Settings,
    *,
    models: Sequence[str] | None = None,
    auto_promote: bool = True,
    actor: str | None = None,
    policy: GatePolicy | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    registry: ModelRegistry | None = None,
    on_model: Callable[[str], None] | None = None,
    on_step: Callable[[str, str], None] | None = None,
) -> list[ModelRunResult]:
    """Train, gate, register and (optionally) promote every model; never raises for one model's failure."""
    registry = registry or ModelRegistry.from_settings(settings)
    registry.ping()  # an unreachable registry fails the whole run at once, before any training
    results = []
    for name in models or trainer_names():
        if on_model is not None:
            on_model(name)
        try:
            trainer = get_trainer(name, settings)
            with make_warehouse(settings, read_only=settings.warehouse.type == "duckdb") as warehouse:
                context = TrainContext(
                    settings=settings, warehouse=warehouse, seed=settings.seed, start=start, end=end
                )
                outcome = train_model(
                    trainer,
                    context,
                    registry,
                    policy=policy,
                    auto_promote=auto_promote,
                    actor=actor,
                    on_step=_bind(on_step, name),
                )
            results.append(ModelRunResult(name, outcome, None))
        except CartwiseError as exc:
            logger.error("pipeline: %s failed: %s", name, exc)
            results.append(ModelRunResult(name, None, str(exc)))
    return results


def _bind(on_step: Callable[[str, str], None] | None, model: str) -> Callable[[str], None] | None:
    if on_step is None:
        return None
    callback = on_step
    return lambda step: callback(model, step)
