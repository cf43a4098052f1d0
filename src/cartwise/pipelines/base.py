"""The contract between the lifecycle and a model kind: what a trainer must provide.

The lifecycle (track → evaluate → gate → register → promote) knows nothing about
fraud, credit or recommendations. Each kind plugs in through :class:`ModelTrainer`:
its name, primary metric and direction, how to build its training and out-of-time
holdout frames from the warehouse, fit, write and load a self-contained bundle,
evaluate a loaded bundle on a holdout, and any gates of its own (credit: fairness).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from cartwise.config import Settings
from cartwise.data.warehouse import Warehouse
from cartwise.errors import SchemaError, TrainingDataError
from cartwise.registry.gates import GateResult
from cartwise.registry.schema import InputSchema

__all__ = [
    "Evaluation",
    "ModelTrainer",
    "TrainContext",
    "TrainingData",
    "require_rows",
    "require_table_schema",
]


@dataclass(frozen=True)
class TrainContext:
    """What a trainer may use to build its data: the opened warehouse, the seed, an optional time window."""

    settings: Settings
    warehouse: Warehouse
    seed: int
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class TrainingData:
    """The frames one training run uses; the holdout lies strictly after the training period."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    time_column: str
    feature_version: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Anything else the trainer needs between fit and evaluate (e.g. recs' interaction matrix)."""


@dataclass(frozen=True)
class Evaluation:
    """Holdout metrics of one scorer; classifiers also return labels and scores for the plots."""

    metrics: Mapping[str, float]
    y_true: np.ndarray | None = None
    y_score: np.ndarray | None = None


class ModelTrainer(Protocol):
    """One model kind, as the lifecycle sees it."""

    name: str
    """Registered model name (``fraud``, ``credit``, ``recs``)."""
    kind: Literal["classifier", "recommender"]
    primary_metric: str
    higher_is_better: bool
    calibration_metric: str | None
    """Metric key holding the expected calibration error, or None (no probabilities)."""
    loader: str
    """``"module:function"`` that loads a bundle directory into a scorer, in a fresh process."""

    def params(self) -> Mapping[str, Any]: ...

    def build_data(self, context: TrainContext) -> TrainingData: ...

    def fit(self, data: TrainingData, seed: int) -> Any: ...

    def write_bundle(self, model: Any, directory: Path) -> None: ...

    def evaluate(self, scorer: Any, data: TrainingData) -> Evaluation: ...

    def input_schema(self, data: TrainingData) -> InputSchema: ...

    def extra_gates(self, scorer: Any, data: TrainingData) -> Sequence[GateResult]: ...


TrainerFactory = Callable[[Settings], ModelTrainer]


def require_table_schema(
    table: pa.Schema | pa.Table, required: Mapping[str, Callable[[pa.DataType], bool]], name: str
) -> None:
    """Fail with SchemaError naming each missing or mistyped column of a training table.

    ``required`` maps column → predicate on the Arrow type (e.g. ``pa.types.is_integer``).
    """
    schema = table.schema if isinstance(table, pa.Table) else table
    problems = []
    for column, accepts in required.items():
        if column not in schema.names:
            problems.append(f"column {column!r} is missing")
        elif not accepts(schema.field(column).type):
            kind = getattr(accepts, "__name__", "the expected type").removeprefix("is_")
            problems.append(f"column {column!r} is {schema.field(column).type}, expected {kind}")
    if problems:
        raise SchemaError(
            f"training table {name!r} does not have the schema training needs: {'; '.join(problems)}. "
            f"Re-ingest it with `cartwise ingest {name} FILE` (validated against the data model) or fix the source."
        )


def require_rows(
    frame: pd.DataFrame | pa.Table, what: str, start: datetime | None, end: datetime | None
) -> None:
    """Fail with TrainingDataError when a time window holds no rows."""
    if len(frame) == 0:
        window = f"[{start.isoformat() if start else '-∞'}, {end.isoformat() if end else '+∞'})"
        raise TrainingDataError(
            f"{what} is empty for the time window {window}; widen --start/--end or load data for that period"
        )
