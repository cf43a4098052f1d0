"""The audit trail of promotions and rollbacks: who, what, when, why.

Events are stored in the MLflow backend itself, as tags on the registered model
(``cartwise.audit.<UTC timestamp>.<id>`` → compact JSON), so the history lives
wherever the registry lives and is backed up with it. Registered-model tag values
are limited to 5,000 characters in MLflow's SQL schema; an event keeps every gate's
name, outcome, value, threshold and margin, and drops messages first if it must.
"""

from __future__ import annotations

import getpass
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cartwise.registry.gates import GateResult
from cartwise.registry.registry import ModelRegistry

__all__ = [
    "AUDIT_TAG_PREFIX",
    "AuditEvent",
    "champion_lineage",
    "current_actor",
    "read_history",
    "record_event",
]

AUDIT_TAG_PREFIX = "cartwise.audit."
_MAX_TAG_VALUE = 5000
Action = Literal["promote", "rollback"]


def current_actor() -> str:
    """The OS user running cartwise (``'unknown'`` if it cannot be told)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


@dataclass(frozen=True)
class AuditEvent:
    """One promotion or rollback of a model's champion."""

    action: Action
    model: str
    from_version: int | None
    to_version: int
    actor: str
    at: datetime
    reason: str
    gates: tuple[GateResult, ...] = ()

    def to_json(self, *, with_messages: bool = True) -> str:
        gates = [
            {
                "name": g.name,
                "passed": g.passed,
                "value": g.value,
                "threshold": g.threshold,
                "margin": g.margin,
            }
            | ({"message": g.message} if with_messages else {})
            for g in self.gates
        ]
        return json.dumps(
            {
                "action": self.action,
                "model": self.model,
                "from": self.from_version,
                "to": self.to_version,
                "actor": self.actor,
                "at": self.at.isoformat(),
                "reason": self.reason,
                "gates": gates,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> AuditEvent:
        raw = json.loads(text)
        return cls(
            action=raw["action"],
            model=raw["model"],
            from_version=raw["from"],
            to_version=int(raw["to"]),
            actor=raw["actor"],
            at=datetime.fromisoformat(raw["at"]),
            reason=raw["reason"],
            gates=tuple(
                GateResult(
                    g["name"], g["passed"], g["value"], g["threshold"], g["margin"], g.get("message", "")
                )
                for g in raw.get("gates", [])
            ),
        )


def record_event(registry: ModelRegistry, event: AuditEvent) -> str:
    """Store the event on the registered model; returns its tag key."""
    key = f"{AUDIT_TAG_PREFIX}{event.at.astimezone(UTC):%Y%m%dT%H%M%S%fZ}.{uuid.uuid4().hex[:8]}"
    value = event.to_json()
    if len(value) > _MAX_TAG_VALUE:
        value = event.to_json(with_messages=False)
    if len(value) > _MAX_TAG_VALUE:  # only an extraordinarily long reason gets here
        trimmed = AuditEvent(**{**event.__dict__, "reason": event.reason[:1000] + "…"})
        value = trimmed.to_json(with_messages=False)
    registry.set_model_tag(event.model, key, value)
    return key


def read_history(registry: ModelRegistry, model: str) -> list[AuditEvent]:
    """Every promotion and rollback of ``model``, oldest first."""
    tags = registry.model_tags(model)
    keys = sorted(k for k in tags if k.startswith(AUDIT_TAG_PREFIX))
    return [AuditEvent.from_json(tags[k]) for k in keys]


def champion_lineage(events: Sequence[AuditEvent]) -> list[int]:
    """The stack of champions the events imply (last = current): a promotion pushes, a rollback pops."""
    stack: list[int] = []
    for event in events:
        if event.action == "promote":
            stack.append(event.to_version)
        else:
            if stack:
                stack.pop()
            if not stack or stack[-1] != event.to_version:
                stack.append(event.to_version)
    return stack
