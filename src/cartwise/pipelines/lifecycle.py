"""Train one model through the gated lifecycle: frames → fit → evaluate → gate → track → register → promote.

Order matters for "bad input leaves the registry unchanged": the registry is pinged
and the data validated before anything is written; the new model and the current
champion are evaluated on the same out-of-time holdout and gated before the run is
logged; the version is registered (alias ``challenger``) only at the end; promotion
(``--auto-promote``) happens only when every gate passed, and is recorded.

The new model is evaluated from its bundle loaded back from disk — the same bytes
that get registered — not from the in-memory object.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cartwise.errors import CartwiseError, TrainingDataError
from cartwise.pipelines.base import Evaluation, ModelTrainer, TrainContext, TrainingData, require_rows
from cartwise.registry.bundle import BundleManifest, load_scorer, read_manifest, stage_bundle
from cartwise.registry.gates import (
    GatePolicy,
    GateResult,
    all_passed,
    calibration_gate,
    describe_failures,
    gates_to_json,
    primary_metric_gate,
    schema_gate,
)
from cartwise.registry.lineage import frame_content_hash, frame_time_range, git_commit
from cartwise.registry.promotion import GATED_AGAINST_TAG, GATES_TAG, promote
from cartwise.registry.registry import CHALLENGER, CHAMPION, ModelRegistry
from cartwise.registry.tracking import RunRecord, log_training_run

__all__ = ["STEPS", "TrainOutcome", "train_model"]

logger = logging.getLogger(__name__)

STEPS = ("registry", "frames", "fit", "evaluate", "champion", "gates", "track", "register", "promote")
"""The steps :func:`train_model` reports to ``on_step``, in order."""


@dataclass(frozen=True)
class TrainOutcome:
    """What one training run produced and decided."""

    model: str
    version: int
    run_id: str
    metrics: Mapping[str, float]
    champion_version: int | None
    champion_metrics: Mapping[str, float]
    gates: tuple[GateResult, ...]
    promoted: bool
    refusal: str | None
    data_hash: str

    @property
    def gates_passed(self) -> bool:
        return all_passed(self.gates)


def _data_hash(data: TrainingData) -> str:
    try:
        return frame_content_hash([data.train, data.holdout])
    except (TypeError, ValueError) as exc:  # pragma: no cover - exotic object columns
        raise TrainingDataError(f"training frames cannot be converted to Arrow for hashing: {exc}") from exc


def _evaluate_champion(
    trainer: ModelTrainer, registry: ModelRegistry, version: int, data: TrainingData
) -> tuple[Evaluation | None, BundleManifest | None, str | None]:
    """The champion's evaluation on this holdout, its manifest, or why it could not be scored."""
    bundle = registry.download_bundle(trainer.name, version)
    manifest = read_manifest(bundle)
    try:
        return trainer.evaluate(load_scorer(bundle), data), manifest, None
    except (CartwiseError, KeyError, ValueError) as exc:
        return None, manifest, f"champion v{version} could not be scored on this holdout: {exc}"


def train_model(
    trainer: ModelTrainer,
    context: TrainContext,
    registry: ModelRegistry,
    *,
    policy: GatePolicy | None = None,
    auto_promote: bool = False,
    actor: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> TrainOutcome:
    """Train, evaluate against the champion, gate, log, register as challenger, promote if allowed."""
    policy = policy or GatePolicy()
    step = on_step or (lambda _name: None)
    name = trainer.name

    step("registry")
    registry.ping()
    champion_version = registry.alias_version(name, CHAMPION)

    step("frames")
    data = trainer.build_data(context)
    require_rows(data.train, f"{name} training frame", context.start, context.end)
    require_rows(data.holdout, f"{name} out-of-time holdout", context.start, context.end)
    data_hash = _data_hash(data)
    time_range = frame_time_range([data.train, data.holdout], data.time_column)
    holdout_range = frame_time_range([data.holdout], data.time_column)

    step("fit")
    model = trainer.fit(data, context.seed)
    schema = trainer.input_schema(data)
    manifest = BundleManifest(
        model=name,
        kind=trainer.kind,
        loader=trainer.loader,
        input_schema=schema,
        extra={"feature_version": data.feature_version, "data_hash": data_hash},
    )
    with tempfile.TemporaryDirectory(prefix=f"cartwise-{name}-") as tmp:
        raw = Path(tmp) / "raw"
        raw.mkdir()
        trainer.write_bundle(model, raw)
        staged = stage_bundle(raw, manifest, Path(tmp) / "staged")

        step("evaluate")
        scorer = load_scorer(staged)
        evaluation = trainer.evaluate(scorer, data)
        if trainer.primary_metric not in evaluation.metrics:
            raise TrainingDataError(
                f"the {name} trainer's evaluation returned no {trainer.primary_metric!r}; it returned {sorted(evaluation.metrics)}"
            )

        step("champion")
        champion_eval: Evaluation | None = None
        champion_manifest: BundleManifest | None = None
        champion_problem: str | None = None
        if champion_version is not None:
            champion_eval, champion_manifest, champion_problem = _evaluate_champion(
                trainer, registry, champion_version, data
            )

        step("gates")
        value = float(evaluation.metrics[trainer.primary_metric])
        if champion_problem is not None:
            primary = GateResult("primary_metric", False, value, None, None, champion_problem)
        else:
            primary = primary_metric_gate(
                trainer.primary_metric,
                value,
                None if champion_eval is None else float(champion_eval.metrics[trainer.primary_metric]),
                higher_is_better=trainer.higher_is_better,
                tolerance=policy.tolerance,
                champion_version=champion_version,
            )
        calibration = None
        if trainer.calibration_metric is not None:
            calibration = float(evaluation.metrics[trainer.calibration_metric])
        try:
            extra = tuple(trainer.extra_gates(scorer, data))
        except CartwiseError as exc:  # a gate that cannot be computed refuses, it does not pass
            extra = (GateResult("extra_gates", False, None, None, None, f"could not be computed: {exc}"),)
        gates = (
            primary,
            calibration_gate(calibration, bound=policy.max_calibration_error),
            schema_gate(schema, champion_manifest.input_schema if champion_manifest else None),
            *extra,
        )

        step("track")
        lineage = {
            "cartwise.data_start": time_range[0].isoformat() if time_range else "",
            "cartwise.data_end": time_range[1].isoformat() if time_range else "",
            "cartwise.holdout_start": holdout_range[0].isoformat() if holdout_range else "",
            "cartwise.holdout_end": holdout_range[1].isoformat() if holdout_range else "",
            "cartwise.data_hash": data_hash,
            "cartwise.feature_version": data.feature_version,
            "cartwise.git_commit": git_commit(),
            "cartwise.seed": str(context.seed),
            "cartwise.train_rows": str(len(data.train)),
            "cartwise.holdout_rows": str(len(data.holdout)),
        }
        champion_metrics = dict(champion_eval.metrics) if champion_eval else {}
        tracked = log_training_run(
            registry,
            RunRecord(
                model=name,
                params={**trainer.params(), "seed": context.seed},
                metrics=dict(evaluation.metrics),
                champion_metrics=champion_metrics,
                champion_version=champion_version,
                tags=lineage,
                gates=gates,
                manifest=manifest,
                y_true=evaluation.y_true,
                y_score=evaluation.y_score,
                champion_score=champion_eval.y_score if champion_eval else None,
            ),
            staged,
        )

    step("register")
    version_tags: dict[str, Any] = {
        **lineage,
        GATES_TAG: gates_to_json(gates),
        GATED_AGAINST_TAG: str(champion_version) if champion_version is not None else "none",
        "cartwise.gates_passed": str(all_passed(gates)).lower(),
        "cartwise.primary_metric": trainer.primary_metric,
        "cartwise.input_schema": schema.to_json(),
        **{f"cartwise.metric.{k}": repr(float(v)) for k, v in evaluation.metrics.items()},
    }
    version = registry.register_version(
        name,
        run_id=tracked.run_id,
        artifact_uri=tracked.artifact_uri,
        tags={k: str(v) for k, v in version_tags.items()},
        description=f"{trainer.primary_metric}={value:.4f} on holdout; gates {'passed' if all_passed(gates) else 'failed'}",
    )
    registry.set_alias(name, CHALLENGER, version)
    logger.info("registered %s v%s as challenger (%s=%.4f)", name, version, trainer.primary_metric, value)

    step("promote")
    promoted = False
    refusal = describe_failures(gates) or None
    if auto_promote and refusal is None:
        promote(registry, name, version, actor=actor, reason="automatic promotion: all gates passed")
        promoted = True
    elif auto_promote:
        logger.warning("%s v%s not promoted: %s", name, version, refusal)
    return TrainOutcome(
        model=name,
        version=version,
        run_id=tracked.run_id,
        metrics=dict(evaluation.metrics),
        champion_version=champion_version,
        champion_metrics=champion_metrics,
        gates=gates,
        promoted=promoted,
        refusal=refusal,
        data_hash=data_hash,
    )
