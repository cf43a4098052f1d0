"""Promotion and rollback of a model's ``champion`` alias, each recorded in the audit trail.

A version may be promoted only if every gate it was evaluated with passed, and only
against the champion it was evaluated against: if the champion changed since, the
comparison on the same holdout is stale and the model must be trained again.
Rollback re-points ``champion`` at the version that was champion before the current
one (from the recorded history) and is recorded too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from cartwise.errors import GateError, RegistryError
from cartwise.registry.gates import describe_failures, gates_from_json
from cartwise.registry.history import AuditEvent, champion_lineage, current_actor, read_history, record_event
from cartwise.registry.registry import CHALLENGER, CHAMPION, ModelRegistry

__all__ = ["GATED_AGAINST_TAG", "GATES_TAG", "promote", "rollback"]

logger = logging.getLogger(__name__)

GATES_TAG = "cartwise.gates"
GATED_AGAINST_TAG = "cartwise.gated_against"


def _move_champion(registry: ModelRegistry, event: AuditEvent) -> None:
    """Point the alias, then record; if recording fails, put the alias back so nothing goes unrecorded."""
    registry.set_alias(event.model, CHAMPION, event.to_version)
    try:
        record_event(registry, event)
    except RegistryError:
        if event.from_version is not None:
            registry.set_alias(event.model, CHAMPION, event.from_version)
        else:
            registry.delete_alias(event.model, CHAMPION)
        raise


def promote(
    registry: ModelRegistry,
    model: str,
    version: int | None = None,
    *,
    actor: str | None = None,
    reason: str = "",
) -> AuditEvent:
    """Make ``version`` (default: the challenger) the champion if its gates passed; raises GateError if not."""
    aliases = registry.aliases(model)
    if not aliases and not registry.exists(model):
        raise RegistryError(f"model {model!r} is not registered; run `cartwise train {model}` first")
    target = version if version is not None else aliases.get(CHALLENGER)
    if target is None:
        raise RegistryError(
            f"model {model!r} has no challenger; run `cartwise train {model}` or pass --version"
        )
    champion = aliases.get(CHAMPION)
    if target == champion:
        raise RegistryError(f"{model} v{target} is already the champion")
    info = registry.version(model, target)
    if GATES_TAG not in info.tags:
        raise RegistryError(
            f"{model} v{target} carries no gate results; only versions registered by `cartwise train` can be promoted"
        )
    gates = gates_from_json(info.tags[GATES_TAG])
    gated_against = info.tags.get(GATED_AGAINST_TAG, "none")
    current = str(champion) if champion is not None else "none"
    if gated_against != current:
        raise GateError(
            f"{model} v{target} cannot be promoted: gate champion_changed failed: it was evaluated against "
            f"{'champion v' + gated_against if gated_against != 'none' else 'no champion'} but the champion is now "
            f"{'v' + current if champion is not None else 'unset'}; run `cartwise train {model}` to compare on the same holdout"
        )
    failures = describe_failures(gates)
    if failures:
        raise GateError(f"{model} v{target} cannot be promoted: {failures}")
    event = AuditEvent(
        action="promote",
        model=model,
        from_version=champion,
        to_version=target,
        actor=actor or current_actor(),
        at=datetime.now(UTC),
        reason=reason or "all gates passed",
        gates=gates,
    )
    _move_champion(registry, event)
    if aliases.get(CHALLENGER) == target:
        registry.delete_alias(model, CHALLENGER)
    logger.info("promoted %s v%s to champion (was %s) by %s", model, target, champion, event.actor)
    return event


def rollback(
    registry: ModelRegistry, model: str, *, actor: str | None = None, reason: str = ""
) -> AuditEvent:
    """Restore the previous champion; raises RegistryError when there is none."""
    champion = registry.alias_version(model, CHAMPION)
    if champion is None:
        raise RegistryError(f"model {model!r} has no champion to roll back")
    lineage = champion_lineage(read_history(registry, model))
    # The champion before the current one; tolerate an alias moved outside cartwise.
    earlier = lineage[: len(lineage) - 1 - lineage[::-1].index(champion)] if champion in lineage else lineage
    if not earlier:
        raise RegistryError(
            f"{model} v{champion} is the first recorded champion; there is no previous champion to roll back to"
        )
    event = AuditEvent(
        action="rollback",
        model=model,
        from_version=champion,
        to_version=earlier[-1],
        actor=actor or current_actor(),
        at=datetime.now(UTC),
        reason=reason or "rollback requested",
    )
    _move_champion(registry, event)
    logger.info("rolled %s back from v%s to v%s by %s", model, champion, event.to_version, event.actor)
    return event
