"""The cartwise feature set: fraud, credit and recommendation features on the warehouse tables.

``CATALOG`` holds every feature; ``FRAUD_FEATURES``, ``CREDIT_FEATURES`` and
``RECS_FEATURES`` are its group selections (each a :class:`FeatureSet`).
Labels enter only through label-delayed sources (chargebacks known at
``reported_at``, credit outcomes known at ``known_at``); the repayment features
are computed from ``due_at``/``paid_at`` and the feature time, never from the
end-of-data ``days_past_due``/``status`` columns of ``installments``.
"""

from __future__ import annotations

from cartwise.features import transforms as tf
from cartwise.features.definitions import (
    FEATURE_TIME,
    Aggregation,
    DerivedFeature,
    Entity,
    EventSource,
    FeatureSet,
    FeatureView,
    RequestFeature,
)

__all__ = [
    "CATALOG",
    "CREDIT_FEATURES",
    "ENTITIES",
    "FRAUD_FEATURES",
    "RECS_FEATURES",
    "SOURCES",
    "VELOCITY_WINDOWS",
]

VELOCITY_WINDOWS = ("10m", "1h", "24h", "7d", "30d", "90d")

# -- entities -----------------------------------------------------------------
CUSTOMER = Entity("customer", "customer_id", "int64", "A shopper with an account.")
DEVICE = Entity("device", "device_id", "string", "A device fingerprint.")
PAYMENT_INSTRUMENT = Entity(
    "payment_instrument", "payment_instrument_id", "string", "A card or bank account."
)
IP = Entity("ip", "ip_hash", "string", "A hashed IP address.")
SHIPPING_ADDRESS = Entity("shipping_address", "shipping_address_hash", "string", "A hashed shipping address.")
MERCHANT = Entity("merchant", "merchant_id", "int64", "A seller.")
PRODUCT = Entity("product", "product_id", "int64", "A catalogue item.")
ENTITIES = (CUSTOMER, DEVICE, PAYMENT_INSTRUMENT, IP, SHIPPING_ADDRESS, MERCHANT, PRODUCT)

# -- sources ------------------------------------------------------------------
CHECKOUTS = EventSource("checkouts", "checkouts", "created_at", description="Pay-later orders.")
CHARGEBACKS = EventSource(
    "chargebacks",
    "chargebacks",
    "order_created_at",
    known_at_column="reported_at",
    description="Fraud reports, counted only once reported.",
)
CREDIT_OUTCOMES = EventSource(
    "credit_outcomes",
    "credit_outcomes",
    "order_created_at",
    known_at_column="known_at",
    order_column="checkout_id",
    description="Resolved credit outcomes, counted only once known.",
)
INSTALLMENTS_DUE = EventSource(
    "installments", "installments", "due_at", description="Installments, as they fall due."
)
INSTALLMENTS_BOOKED = EventSource(
    "installments_booked",
    "installments",
    "order_created_at",
    query=(
        "SELECT i.installment_id, i.customer_id, i.due_at, i.paid_at, i.amount_minor, "
        "c.created_at AS order_created_at "
        "FROM installments AS i JOIN checkouts AS c ON c.checkout_id = i.checkout_id"
    ),
    order_column="installment_id",
    description="Installments from the moment their order was placed (for balances at t).",
)
CUSTOMERS = EventSource("customers", "customers", "created_at", description="Account sign-ups.")
EVENTS = EventSource("events", "events", "event_at", description="Views, add-to-cart and purchase events.")
EVENTS_BY_CATEGORY = EventSource(
    "category_events",
    "events",
    "event_at",
    query=(
        "SELECT e.event_id, e.customer_id, e.product_id, e.event_type, e.event_at, p.category "
        "FROM events AS e JOIN products AS p ON p.product_id = e.product_id"
    ),
    order_column="event_id",
    description="Browsing events with the product's category.",
)
SOURCES = (
    CHECKOUTS,
    CHARGEBACKS,
    CREDIT_OUTCOMES,
    INSTALLMENTS_DUE,
    INSTALLMENTS_BOOKED,
    CUSTOMERS,
    EVENTS,
    EVENTS_BY_CATEGORY,
)

FRAUD, CREDIT, RECS = "fraud", "credit", "recs"


def _velocity(entity: Entity, groups: tuple[str, ...], extra: tuple[Aggregation, ...] = ()) -> FeatureView:
    """Checkout count and amount per entity over the velocity windows."""
    return FeatureView(
        name=f"{entity.name}_checkout_velocity",
        source=CHECKOUTS,
        entities=(entity,),
        aggregations=(
            Aggregation("count", windows=VELOCITY_WINDOWS),
            Aggregation("sum", "amount_minor", windows=VELOCITY_WINDOWS),
            *extra,
        ),
        groups=groups,
        description=f"How often and how much the {entity.name} ordered recently.",
    )


_DAYS_PAST_DUE_AT_T = (
    "GREATEST(0, (EPOCH_US(LEAST(COALESCE(paid_at, feature_time), feature_time)) "
    "- EPOCH_US(due_at)) / 86400000000.0)"
)
_UNPAID_AT_T = "(paid_at IS NULL OR paid_at >= feature_time)"

VIEWS = (
    # -- fraud: velocity per identity element ------------------------------------
    _velocity(
        CUSTOMER,
        (FRAUD, CREDIT),
        (
            Aggregation("mean", "amount_minor", windows=("7d", "30d", "90d")),
            Aggregation("max", "amount_minor", windows=("30d", "90d")),
            Aggregation("max", "EPOCH_US(created_at)", windows=("all",), name="last_checkout_us"),
            Aggregation("count", windows=("all",), name="lifetime_checkouts"),
            Aggregation("last", "amount_minor", windows=("30d",), name="previous_amount_minor"),
        ),
    ),
    _velocity(DEVICE, (FRAUD,)),
    _velocity(PAYMENT_INSTRUMENT, (FRAUD,)),
    _velocity(IP, (FRAUD,)),
    _velocity(SHIPPING_ADDRESS, (FRAUD,)),
    _velocity(MERCHANT, (FRAUD,), (Aggregation("mean", "amount_minor", windows=("7d", "30d")),)),
    # -- fraud: rings, shared identity elements ----------------------------------
    FeatureView(
        "device_identity_spread",
        CHECKOUTS,
        (DEVICE,),
        (
            Aggregation("count_distinct", "customer_id", windows=("24h", "7d", "30d")),
            Aggregation("count_distinct", "payment_instrument_id", windows=("7d", "30d")),
        ),
        groups=(FRAUD,),
        description="How many shoppers and cards one device serves (fraud rings, account takeover).",
    ),
    FeatureView(
        "shipping_address_identity_spread",
        CHECKOUTS,
        (SHIPPING_ADDRESS,),
        (Aggregation("count_distinct", "customer_id", windows=("7d", "30d", "90d")),),
        groups=(FRAUD,),
    ),
    FeatureView(
        "payment_instrument_identity_spread",
        CHECKOUTS,
        (PAYMENT_INSTRUMENT,),
        (Aggregation("count_distinct", "customer_id", windows=("30d",)),),
        groups=(FRAUD,),
    ),
    FeatureView(
        "ip_identity_spread",
        CHECKOUTS,
        (IP,),
        (Aggregation("count_distinct", "customer_id", windows=("24h", "7d")),),
        groups=(FRAUD,),
    ),
    FeatureView(
        "customer_identity_spread",
        CHECKOUTS,
        (CUSTOMER,),
        (
            Aggregation("count_distinct", "device_id", windows=("7d", "30d", "90d")),
            Aggregation("count_distinct", "shipping_address_hash", windows=("30d", "90d")),
            Aggregation("count_distinct", "payment_instrument_id", windows=("30d", "90d")),
        ),
        groups=(FRAUD,),
        description="How many devices, addresses and cards one shopper uses.",
    ),
    # -- fraud: is this element new for this customer? ---------------------------
    FeatureView(
        "customer_device_history",
        CHECKOUTS,
        (CUSTOMER, DEVICE),
        (Aggregation("count", windows=("all",)),),
        groups=(FRAUD,),
        description="Earlier checkouts of this customer on this device (0 = a new device).",
    ),
    FeatureView(
        "customer_shipping_address_history",
        CHECKOUTS,
        (CUSTOMER, SHIPPING_ADDRESS),
        (Aggregation("count", windows=("all",)),),
        groups=(FRAUD,),
    ),
    FeatureView(
        "customer_payment_instrument_history",
        CHECKOUTS,
        (CUSTOMER, PAYMENT_INSTRUMENT),
        (Aggregation("count", windows=("all",)),),
        groups=(FRAUD,),
    ),
    # -- fraud: reported chargebacks (label-delayed) -----------------------------
    FeatureView(
        "merchant_chargebacks",
        CHARGEBACKS,
        (MERCHANT,),
        (
            Aggregation("count", windows=("7d", "30d")),
            Aggregation("sum", "amount_minor", windows=("30d",), name="chargeback_amount_minor"),
        ),
        groups=(FRAUD,),
        description="Chargebacks on the merchant's recent orders, counting only those already reported.",
    ),
    FeatureView(
        "customer_chargebacks",
        CHARGEBACKS,
        (CUSTOMER,),
        (Aggregation("count", windows=("90d", "all")),),
        groups=(FRAUD, CREDIT),
        description="The customer's reported chargebacks.",
    ),
    # -- credit: repayment history from due_at / paid_at -------------------------
    FeatureView(
        "customer_repayment",
        INSTALLMENTS_DUE,
        (CUSTOMER,),
        (
            Aggregation("count", windows=("90d", "all"), name="installments_due"),
            Aggregation(
                "count",
                windows=("90d", "all"),
                name="installments_late",
                where="paid_at IS NULL OR paid_at > due_at",
            ),
            Aggregation("sum", "amount_minor", windows=("all",), name="amount_due_minor"),
        ),
        groups=(CREDIT,),
        description=(
            "Installments that fell due before t, and the late ones: unpaid at their due time "
            "(paid later, or not yet) — both are known at due_at."
        ),
    ),
    FeatureView(
        "customer_exposure",
        INSTALLMENTS_BOOKED,
        (CUSTOMER,),
        (
            Aggregation(
                "sum",
                f"CASE WHEN {_UNPAID_AT_T} THEN amount_minor ELSE 0 END",
                windows=("all",),
                name="outstanding_minor",
            ),
            Aggregation(
                "count",
                windows=("all",),
                name="overdue_installments",
                where=f"due_at < feature_time AND {_UNPAID_AT_T}",
            ),
            Aggregation(
                "sum",
                "amount_minor",
                windows=("all",),
                name="overdue_minor",
                where=f"due_at < feature_time AND {_UNPAID_AT_T}",
            ),
            Aggregation(
                "max",
                _DAYS_PAST_DUE_AT_T,
                windows=("all",),
                name="days_past_due",
                where="due_at < feature_time",
                default=0.0,
            ),
        ),
        groups=(CREDIT,),
        description="Balance still owed at t, and the worst delay so far as seen at t.",
    ),
    FeatureView(
        "customer_credit_outcomes",
        CREDIT_OUTCOMES,
        (CUSTOMER,),
        (
            Aggregation("count", windows=("all",), name="resolved_plans"),
            Aggregation("count", windows=("all",), name="defaults", where="defaulted"),
            Aggregation("mean", "max_days_past_due", windows=("all",), name="resolved_max_dpd"),
        ),
        groups=(CREDIT,),
        description="Earlier plans whose outcome was known before t.",
    ),
    FeatureView(
        "customer_profile",
        CUSTOMERS,
        (CUSTOMER,),
        (Aggregation("max", "EPOCH_US(created_at)", windows=("all",), name="created_at_us"),),
        groups=(FRAUD, CREDIT),
        description="When the account was opened (for tenure).",
    ),
    # -- recs: browsing ----------------------------------------------------------
    FeatureView(
        "product_engagement",
        EVENTS,
        (PRODUCT,),
        (
            Aggregation("count", windows=("7d", "30d"), name="views", where="event_type = 'view'"),
            Aggregation(
                "count", windows=("7d", "30d"), name="add_to_carts", where="event_type = 'add_to_cart'"
            ),
            Aggregation("count", windows=("7d", "30d"), name="purchases", where="event_type = 'purchase'"),
            Aggregation("count_distinct", "customer_id", windows=("7d",), name="viewers"),
        ),
        groups=(RECS,),
        description="How much attention a product gets.",
    ),
    FeatureView(
        "customer_engagement",
        EVENTS,
        (CUSTOMER,),
        (
            Aggregation("count", windows=("24h", "7d", "30d"), name="views", where="event_type = 'view'"),
            Aggregation(
                "count", windows=("7d", "30d"), name="add_to_carts", where="event_type = 'add_to_cart'"
            ),
            Aggregation("count", windows=("7d", "30d"), name="purchases", where="event_type = 'purchase'"),
            Aggregation("count_distinct", "product_id", windows=("7d", "30d"), name="products_seen"),
            Aggregation("count_distinct", "session_id", windows=("7d", "30d"), name="sessions"),
        ),
        groups=(RECS, FRAUD),
        description="The shopper's recent browsing.",
    ),
    FeatureView(
        "customer_category_activity",
        EVENTS_BY_CATEGORY,
        (CUSTOMER,),
        (Aggregation("count_distinct", "category", windows=("7d", "30d"), name="categories_seen"),),
        groups=(RECS,),
        description="How broad the shopper's recent interests are.",
    ),
)

ON_DEMAND = (
    RequestFeature(
        "amount_to_customer_mean_30d",
        tf.safe_ratio,
        feature_inputs=("customer__amount_minor__mean__30d",),
        request_inputs=("amount_minor",),
        arguments=("amount_minor", "customer__amount_minor__mean__30d"),
        groups=(FRAUD, CREDIT),
        description="This order's amount over the customer's 30-day mean (NaN without history).",
    ),
    RequestFeature(
        "amount_to_merchant_mean_30d",
        tf.safe_ratio,
        feature_inputs=("merchant__amount_minor__mean__30d",),
        request_inputs=("amount_minor",),
        arguments=("amount_minor", "merchant__amount_minor__mean__30d"),
        groups=(FRAUD,),
    ),
    RequestFeature("log_amount", tf.log_amount, request_inputs=("amount_minor",), groups=(FRAUD, CREDIT)),
    RequestFeature("hour_of_day", tf.hour_of_day, request_inputs=(FEATURE_TIME,), groups=(FRAUD,)),
    RequestFeature("day_of_week", tf.day_of_week, request_inputs=(FEATURE_TIME,), groups=(FRAUD,)),
    RequestFeature(
        "plan_length_days",
        tf.plan_length_days,
        request_inputs=("n_installments", "installment_interval_days"),
        groups=(CREDIT,),
    ),
    RequestFeature(
        "installment_amount_minor",
        tf.installment_amount,
        request_inputs=("amount_minor", "n_installments"),
        groups=(CREDIT,),
    ),
    RequestFeature(
        "tenure_days",
        tf.days_between,
        feature_inputs=("customer__created_at_us__max__all",),
        request_inputs=(FEATURE_TIME,),
        arguments=(FEATURE_TIME, "customer__created_at_us__max__all"),
        groups=(FRAUD, CREDIT),
        description="Days since the account was opened.",
    ),
    RequestFeature(
        "seconds_since_last_checkout",
        tf.seconds_between,
        feature_inputs=("customer__last_checkout_us__max__all",),
        request_inputs=(FEATURE_TIME,),
        arguments=(FEATURE_TIME, "customer__last_checkout_us__max__all"),
        groups=(FRAUD,),
    ),
    DerivedFeature(
        "merchant_chargeback_rate_7d",
        tf.safe_ratio,
        feature_inputs=("merchant__chargebacks__count__7d", "merchant__checkouts__count__7d"),
        groups=(FRAUD,),
        description="Reported chargebacks per order at the merchant over 7 days.",
    ),
    DerivedFeature(
        "merchant_chargeback_rate_30d",
        tf.safe_ratio,
        feature_inputs=("merchant__chargebacks__count__30d", "merchant__checkouts__count__30d"),
        groups=(FRAUD,),
        description="Reported chargebacks per order at the merchant over 30 days.",
    ),
    DerivedFeature(
        "customer_late_share",
        tf.safe_ratio,
        feature_inputs=("customer__installments_late__count__all", "customer__installments_due__count__all"),
        groups=(CREDIT,),
        description="Share of the customer's due installments that were late.",
    ),
    DerivedFeature(
        "customer_default_rate",
        tf.safe_ratio,
        feature_inputs=("customer__defaults__count__all", "customer__resolved_plans__count__all"),
        groups=(CREDIT,),
    ),
    RequestFeature(
        "outstanding_to_amount",
        tf.safe_ratio,
        feature_inputs=("customer__outstanding_minor__sum__all",),
        request_inputs=("amount_minor",),
        groups=(CREDIT,),
        description="Balance still owed over this order's amount.",
    ),
)

CATALOG = FeatureSet(views=VIEWS, on_demand=ON_DEMAND, name="cartwise")
FRAUD_FEATURES = CATALOG.select(FRAUD, name="fraud")
CREDIT_FEATURES = CATALOG.select(CREDIT, name="credit")
RECS_FEATURES = CATALOG.select(RECS, name="recs")
