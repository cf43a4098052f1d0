"""What the decision service needs from the outside, as small protocols.

The HTTP layer, security, decision log, metrics, degraded mode, hot reload and
shadow scoring depend only on these; :mod:`cartwise.serving.adapters` binds them
to the real online store, model bundles and registry.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CheckoutFacts",
    "CreditResult",
    "CreditScorer",
    "FeatureReader",
    "FraudScorer",
    "LoadedModel",
    "ModelSource",
    "PlanOffer",
    "ProductHit",
    "ReasonCode",
    "Recommender",
]

Features = Mapping[str, float | None]


@dataclass(frozen=True)
class CheckoutFacts:
    """The identifiers and request-time facts a feature reader and the models see for one checkout."""

    checkout_id: int
    customer_id: int
    merchant_id: int
    device_id: str
    amount_minor: int
    n_items: int
    plan_type: str
    instrument_type: str
    at_us: int
    payment_instrument_id: str = ""
    ip_hash: str = ""
    shipping_address_hash: str = ""
    product_id: int = 0


@dataclass(frozen=True)
class ReasonCode:
    """One reason behind a score: a stable code and a sentence a person can read."""

    code: str
    description: str


@dataclass(frozen=True)
class PlanOffer:
    """One installment plan the shopper may choose.

    ``installments_minor`` is the exact schedule (summing to the order amount); the first
    installments carry the remainder, so ``installment_minor``, the first, is the largest.
    """

    plan_type: str
    n_installments: int
    installment_minor: int
    fee_minor: int
    apr: float
    installments_minor: tuple[int, ...] = ()


@dataclass(frozen=True)
class CreditResult:
    """What the credit model and its policy say about one checkout."""

    outcome: str
    default_probability: float
    approved_limit_minor: int
    plan_options: tuple[PlanOffer, ...]
    reasons: tuple[ReasonCode, ...] = ()


@dataclass(frozen=True)
class ProductHit:
    product_id: int
    score: float
    price_minor: int | None = None
    title: str | None = None


@runtime_checkable
class FeatureReader(Protocol):
    """Online features of a checkout's entities, in one round trip; raises on any failure.

    A reader may also define ``read_many(facts) -> list[dict]``, the features of
    several checkouts in one round trip; the service uses it to decide requests
    that arrive together (see :func:`cartwise.serving.features.read_many`).
    """

    def read(
        self, facts: CheckoutFacts, *, features: Collection[str] | None = None
    ) -> dict[str, float | None]:
        """The features of ``facts``' entities; ``features`` narrows the read to those (a hint)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class FraudScorer(Protocol):
    """A calibrated fraud model with its policy and reason codes."""

    feature_names: Sequence[str]

    def score(self, features: Features) -> float: ...

    def decide(self, fraud_score: float, amount_minor: int) -> str: ...

    def reasons(self, features: Features, top_n: int = 3) -> tuple[ReasonCode, ...]: ...


@runtime_checkable
class CreditScorer(Protocol):
    """A calibrated probability-of-default model with its credit policy."""

    def score(self, features: Features) -> float: ...

    def decide(self, features: Features, amount_minor: int, plan_type: str) -> CreditResult: ...


@runtime_checkable
class Recommender(Protocol):
    """Top-k products for a customer, and semantic product search."""

    def recommend(
        self, customer_id: int, k: int, *, max_price_minor: int | None = None
    ) -> list[ProductHit]: ...

    def search(self, query: str, k: int) -> list[ProductHit]: ...


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from a source, with the version it came from."""

    name: str
    version: str
    scorer: Any
    trained_at: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class ModelSource(Protocol):
    """Where models come from (the registry, in production): version look-ups and loading."""

    def version_of(self, model: str, alias: str) -> str | None:
        """The version ``model@alias`` points at now, or None when the alias is not set."""
        ...

    def load(self, model: str, alias: str) -> LoadedModel:
        """Load ``model@alias``; raises :class:`cartwise.errors.RegistryError` when it cannot."""
        ...
