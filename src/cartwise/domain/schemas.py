"""The pay-later marketplace data model, defined once as Arrow schemas.

Every table the warehouse holds is described here: its columns and types, its
primary key, the column that says when a row happened (``event_time``) and, for
label tables, the column that says when the label became known (``known_at``).
``docs/data-model.md`` documents each column; a test keeps the two in step.

Conventions: money is an integer count of minor units (cents) in the row's
currency; timestamps are microseconds in UTC; identifiers are ``int64`` for
rows cartwise creates and ``string`` for identifiers that come from outside
(devices, payment instruments, address and IP hashes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

__all__ = [
    "EVENT_TYPES",
    "FRAUD_TYPES",
    "INSTALLMENT_STATUSES",
    "PLAN_TYPES",
    "PROTECTED_ATTRIBUTES",
    "TABLES",
    "TIMESTAMP",
    "TableSpec",
    "table_spec",
]

TIMESTAMP = pa.timestamp("us", tz="UTC")

EVENT_TYPES = ("view", "add_to_cart", "purchase")
"""Marketplace session events, in funnel order."""

PLAN_TYPES = ("pay_in_4", "pay_monthly_3", "pay_monthly_6", "pay_monthly_12")
"""Installment plans: pay-in-4 every two weeks, or 3/6/12 monthly payments."""

INSTALLMENT_STATUSES = ("scheduled", "paid", "paid_late", "overdue", "defaulted", "cancelled")
"""Status of an installment as of the data's end date."""

FRAUD_TYPES = (
    "account_takeover",
    "card_testing",
    "fraud_ring",
    "compromised_merchant",
    "synthetic_identity",
)
"""Fraud reasons a chargeback can carry."""

PROTECTED_ATTRIBUTES = ("age_band", "gender")
"""Customer columns that no model may use as an input or give as a reason."""


@dataclass(frozen=True)
class TableSpec:
    """One warehouse table: schema, key and time semantics."""

    name: str
    schema: pa.Schema
    primary_key: tuple[str, ...]
    event_time: str | None = None
    known_at: str | None = None
    description: str = ""
    protected: tuple[str, ...] = field(default_factory=tuple)
    allowed_values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(column, values) pairs: the only values those text columns may hold."""

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def allowed(self, column: str) -> tuple[str, ...] | None:
        """The values ``column`` is restricted to, or None when any value goes."""
        return dict(self.allowed_values).get(column)


def _f(name: str, type_: pa.DataType, nullable: bool = False) -> pa.Field:
    return pa.field(name, type_, nullable=nullable)


_CUSTOMERS = pa.schema(
    [
        _f("customer_id", pa.int64()),
        _f("created_at", TIMESTAMP),
        _f("home_region", pa.string()),
        _f("email_domain", pa.string()),
        _f("age_band", pa.string()),
        _f("gender", pa.string()),
        _f("segment", pa.string()),
    ]
)

_MERCHANTS = pa.schema(
    [
        _f("merchant_id", pa.int64()),
        _f("name", pa.string()),
        _f("category", pa.string()),
        _f("fee_rate", pa.float64()),
        _f("created_at", TIMESTAMP),
    ]
)

_PRODUCTS = pa.schema(
    [
        _f("product_id", pa.int64()),
        _f("merchant_id", pa.int64()),
        _f("title", pa.string()),
        _f("description", pa.string()),
        _f("category", pa.string()),
        _f("price_minor", pa.int64()),
        _f("currency", pa.string()),
        _f("created_at", TIMESTAMP),
    ]
)

_EVENTS = pa.schema(
    [
        _f("event_id", pa.int64()),
        _f("session_id", pa.int64()),
        _f("customer_id", pa.int64()),
        _f("product_id", pa.int64()),
        _f("event_type", pa.string()),
        _f("event_at", TIMESTAMP),
        _f("device_id", pa.string()),
    ]
)

_CHECKOUTS = pa.schema(
    [
        _f("checkout_id", pa.int64()),
        _f("customer_id", pa.int64()),
        _f("merchant_id", pa.int64()),
        _f("created_at", TIMESTAMP),
        _f("amount_minor", pa.int64()),
        _f("currency", pa.string()),
        _f("n_items", pa.int32()),
        _f("product_ids", pa.list_(pa.int64())),
        _f("device_id", pa.string()),
        _f("payment_instrument_id", pa.string()),
        _f("ip_hash", pa.string()),
        _f("geo_hash", pa.string()),
        _f("shipping_address_hash", pa.string()),
        _f("plan_type", pa.string()),
        _f("n_installments", pa.int32()),
        _f("installment_interval_days", pa.int32()),
    ]
)

_INSTALLMENTS = pa.schema(
    [
        _f("installment_id", pa.int64()),
        _f("checkout_id", pa.int64()),
        _f("customer_id", pa.int64()),
        _f("seq", pa.int32()),
        _f("due_at", TIMESTAMP),
        _f("amount_minor", pa.int64()),
        _f("paid_at", TIMESTAMP, nullable=True),
        _f("days_past_due", pa.int32()),
        _f("status", pa.string()),
    ]
)

_CHARGEBACKS = pa.schema(
    [
        _f("chargeback_id", pa.int64()),
        _f("checkout_id", pa.int64()),
        _f("customer_id", pa.int64()),
        _f("merchant_id", pa.int64()),
        _f("order_created_at", TIMESTAMP),
        _f("reported_at", TIMESTAMP),
        _f("amount_minor", pa.int64()),
        _f("fraud_type", pa.string()),
    ]
)

_CREDIT_OUTCOMES = pa.schema(
    [
        _f("checkout_id", pa.int64()),
        _f("customer_id", pa.int64()),
        _f("order_created_at", TIMESTAMP),
        _f("defaulted", pa.bool_()),
        _f("max_days_past_due", pa.int32()),
        _f("known_at", TIMESTAMP),
    ]
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "customers",
            _CUSTOMERS,
            ("customer_id",),
            event_time="created_at",
            description="Shoppers with an account on the marketplace.",
            protected=PROTECTED_ATTRIBUTES,
        ),
        TableSpec(
            "merchants",
            _MERCHANTS,
            ("merchant_id",),
            event_time="created_at",
            description="Sellers; each pays a fee (a fraction of the order amount) per pay-later order.",
        ),
        TableSpec(
            "products",
            _PRODUCTS,
            ("product_id",),
            event_time="created_at",
            description="Catalogue items with the text used for search and cold-start recommendations.",
        ),
        TableSpec(
            "events",
            _EVENTS,
            ("event_id",),
            event_time="event_at",
            description="Browsing sessions: product views, add-to-cart and purchase events.",
            allowed_values=(("event_type", EVENT_TYPES),),
        ),
        TableSpec(
            "checkouts",
            _CHECKOUTS,
            ("checkout_id",),
            event_time="created_at",
            description="Pay-later orders: what was bought, how, from where, on which plan.",
            allowed_values=(("plan_type", PLAN_TYPES),),
        ),
        TableSpec(
            "installments",
            _INSTALLMENTS,
            ("installment_id",),
            event_time="due_at",
            description="The repayment schedule of each order and what happened to each payment.",
            allowed_values=(("status", INSTALLMENT_STATUSES),),
        ),
        TableSpec(
            "chargebacks",
            _CHARGEBACKS,
            ("chargeback_id",),
            event_time="order_created_at",
            known_at="reported_at",
            description="Fraud reports; the label becomes known at reported_at, days after the order.",
            allowed_values=(("fraud_type", FRAUD_TYPES),),
        ),
        TableSpec(
            "credit_outcomes",
            _CREDIT_OUTCOMES,
            ("checkout_id",),
            event_time="order_created_at",
            known_at="known_at",
            description="Resolved credit outcomes: default (60+ days past due) or repaid, with when it was known.",
        ),
    )
}


def table_spec(name: str) -> TableSpec:
    """The spec of a cartwise table, or a :class:`~cartwise.errors.SchemaError` naming the known ones."""
    from cartwise.errors import SchemaError

    try:
        return TABLES[name]
    except KeyError:
        raise SchemaError(
            f"unknown table {name!r}; cartwise tables are: {', '.join(sorted(TABLES))}"
        ) from None
