"""HTTP bodies of the decision service: strict pydantic models with bounded fields.

Money is integer minor units (cents); unknown fields are rejected so a typo in a
client fails loudly with a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from cartwise.domain.schemas import PLAN_TYPES

__all__ = [
    "CheckoutDecision",
    "CheckoutItem",
    "CheckoutRequest",
    "DeviceInfo",
    "ModelVersions",
    "PaymentInstrument",
    "PlanOption",
    "ProductScore",
    "ReasonOut",
    "RecommendationRequest",
    "RecommendationResponse",
    "SearchResponse",
]

PlanType = Literal["pay_in_4", "pay_monthly_3", "pay_monthly_6", "pay_monthly_12"]
assert PlanType.__args__ == PLAN_TYPES  # type: ignore[attr-defined]  # keep in step with the domain

MAX_MINOR = 100_000_000_00  # 100 million in major units: far above any single order
Id = Annotated[int, Field(ge=1, le=2**62)]
Minor = Annotated[int, Field(gt=0, le=MAX_MINOR)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckoutItem(_Body):
    product_id: Id
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1
    unit_price_minor: Minor
    category: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class DeviceInfo(_Body):
    device_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
    ip_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    ip_hash: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = (
        Field(default=None, description="A hash of the shopper's IP address (never the address itself).")
    )
    user_agent_family: Annotated[str, Field(max_length=64)] | None = None


class PaymentInstrument(_Body):
    type: Literal["card", "bank_account", "wallet"]
    fingerprint: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class CheckoutRequest(_Body):
    """A pay-later checkout to decide on."""

    checkout_id: Id
    customer_id: Id
    merchant_id: Id
    amount_minor: Minor
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    items: Annotated[list[CheckoutItem], Field(min_length=1, max_length=100)]
    device: DeviceInfo
    payment_instrument: PaymentInstrument
    plan_type: PlanType = "pay_in_4"
    shipping_address_hash: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")] | None
    ) = Field(default=None, description="A hash of the shipping address (never the address itself).")
    created_at: dt.datetime | None = Field(
        default=None, description="When the shopper checked out (UTC); the server's clock when absent."
    )

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "checkout_id": 1001,
                    "customer_id": 42,
                    "merchant_id": 7,
                    "amount_minor": 12999,
                    "currency": "USD",
                    "items": [{"product_id": 3, "quantity": 1, "unit_price_minor": 12999}],
                    "device": {"device_id": "dev-42-a", "ip_country": "US"},
                    "payment_instrument": {"type": "card", "fingerprint": "fp-9f8e", "country": "US"},
                    "plan_type": "pay_in_4",
                }
            ]
        },
    )


class ReasonOut(_Body):
    code: str
    description: str


class PlanOption(_Body):
    plan_type: str
    n_installments: int
    installment_minor: int = Field(description="The first installment, the largest one.")
    fee_minor: int
    apr: float
    installments_minor: list[int] = Field(
        default_factory=list,
        description=(
            "Every installment in order, summing exactly to the order amount: the first ones carry "
            "the remainder of the division, one minor unit each. Empty in replies stored before "
            "this field existed."
        ),
    )


class ModelVersions(_Body):
    fraud: str
    credit: str


class CheckoutDecision(_Body):
    """The decision on a checkout, with the numbers and reasons behind it."""

    decision_id: str
    checkout_id: int
    decision: Literal["approve", "review", "decline"]
    fraud_score: float
    fraud_decision: Literal["approve", "review", "decline"]
    default_probability: float
    credit_decision: Literal["approve", "review", "decline"]
    approved_limit_minor: int
    plan_options: list[PlanOption]
    fraud_reasons: list[ReasonOut]
    adverse_action_reasons: list[ReasonOut]
    model_versions: ModelVersions
    degraded: bool
    degraded_reasons: list[str]
    latency_ms: float
    replayed: bool = Field(False, description="True when this is the stored answer to a retried checkout_id.")


class RecommendationRequest(_Body):
    customer_id: Id
    k: Annotated[int, Field(ge=1, le=100)] = 10
    max_price_minor: Minor | None = Field(
        default=None, description="Only products up to this price; defaults to what the customer can afford."
    )
    context_product_ids: Annotated[list[Id], Field(max_length=50)] = []


class ProductScore(_Body):
    product_id: int
    score: float
    price_minor: int | None = None
    title: str | None = None


class RecommendationResponse(_Body):
    customer_id: int
    products: list[ProductScore]
    model_version: str
    affordable_up_to_minor: int | None
    degraded: bool


class SearchResponse(_Body):
    query: str
    products: list[ProductScore]
    model_version: str
