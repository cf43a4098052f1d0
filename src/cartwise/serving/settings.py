"""Settings of the decision service that are not part of the shared ``Settings`` file."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseModel):
    """Limits, timeouts and fallbacks of the decision service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(default=64 * 1024, gt=0, description="Larger request bodies get 413.")
    poll_seconds: float = Field(
        default=10.0, ge=0, description="How often to look for a new champion; 0 never."
    )
    feature_timeout_seconds: float = Field(
        default=0.015,
        gt=0,
        description="Socket timeout of the online store; slower reads fall back to defaults (degraded).",
    )
    breaker_failures: int = Field(default=3, ge=1)
    breaker_cooldown_seconds: float = Field(default=2.0, gt=0)
    degraded_limit_minor: int = Field(
        default=20_000,
        ge=0,
        description="Without online features, approve at most this amount; larger goes to review.",
    )
    open_invocations: bool = Field(
        default=False,
        description="Serve /invocations without an API key (SageMaker authenticates callers itself).",
    )
    shadow_queue: int = Field(default=1000, ge=1)
    max_decision_batch: int = Field(
        default=32,
        ge=1,
        description="Most checkouts a worker decides together (those that arrived while it was busy); 1 decides each alone.",
    )
    reasons_top_n: int = Field(default=3, ge=1, le=10)
    currencies: tuple[Annotated[str, Field(pattern=r"^[A-Z]{3}$")], ...] = Field(
        default=("USD",),
        min_length=1,
        description=(
            "Currencies of the orders the models learned from (the simulator's are USD). A checkout "
            "in another currency gets 422: its minor units would be read at the wrong scale."
        ),
    )
