"""Feature definitions: naming, validation errors that name the object, version hash, groups."""

from __future__ import annotations

import numpy as np
import pytest

from cartwise.errors import FeatureError
from cartwise.features import transforms as tf
from cartwise.features.catalog import CATALOG, CREDIT_FEATURES, FRAUD_FEATURES, RECS_FEATURES
from cartwise.features.definitions import (
    FEATURE_TIME,
    Aggregation,
    DerivedFeature,
    Entity,
    EventSource,
    FeatureSet,
    FeatureView,
    RequestFeature,
    parse_window,
)

CUSTOMER = Entity("customer", "customer_id")
CHECKOUTS = EventSource("checkouts", "checkouts", "created_at")
CHARGEBACKS = EventSource("chargebacks", "chargebacks", "order_created_at", known_at_column="reported_at")


def _view(
    *aggs: Aggregation, name: str = "customer_velocity", source: EventSource = CHECKOUTS
) -> FeatureView:
    return FeatureView(name, source, (CUSTOMER,), aggs)


def test_feature_names_are_generated_deterministically() -> None:
    fs = FeatureSet(
        (
            _view(
                Aggregation("count", windows=("10m", "all")),
                Aggregation("sum", "amount_minor", windows=("30d",)),
            ),
        )
    )
    assert fs.feature_names == [
        "customer__checkouts__count__10m",
        "customer__checkouts__count__all",
        "customer__amount_minor__sum__30d",
    ]
    assert fs.feature("customer__amount_minor__sum__30d").window_us == 30 * 86_400_000_000


@pytest.mark.parametrize(
    ("window", "micros"),
    [
        ("10m", 600_000_000),
        ("1h", 3_600_000_000),
        ("24h", 86_400_000_000),
        ("2w", 14 * 86_400_000_000),
        ("all", None),
    ],
)
def test_parse_window(window: str, micros: int | None) -> None:
    assert parse_window(window) == micros


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (
            _view(Aggregation("count", windows=("1h", "3x"))),
            "feature view customer_velocity: window '3x' is not a window",
        ),
        (_view(Aggregation("count", windows=("0m",))), "window '0m' is not a window"),
        (
            _view(Aggregation("sum", "amount_minr")),
            "refers to ['amount_minr'], not columns of table checkouts",
        ),
        (_view(Aggregation("sum")), "sum needs a column"),
        (_view(Aggregation("median", "amount_minor")), "function 'median' is not one of"),  # type: ignore[arg-type]
        (_view(Aggregation("sum", "amount_minor * 2")), "an expression needs a name="),
        (
            _view(Aggregation("max", "amount_minor"), source=CHARGEBACKS, name="cb"),
            "source chargebacks is label-delayed",
        ),
        (
            FeatureView("by_product", CHECKOUTS, (Entity("product", "product_id"),), (Aggregation("count"),)),
            "key column for product 'product_id' is not a column of table checkouts",
        ),
        (
            FeatureView("x", EventSource("s", "orders", "created_at"), (CUSTOMER,), (Aggregation("count"),)),
            "names table 'orders', which is not a cartwise table",
        ),
        (_view(Aggregation("count", windows=("1h", "1h"))), "repeat"),
    ],
)
def test_validation_errors_name_the_object(view: FeatureView, message: str) -> None:
    with pytest.raises(FeatureError) as info:
        FeatureSet((view,))
    assert message in str(info.value)


def test_duplicate_feature_names_are_refused() -> None:
    a = _view(Aggregation("count", windows=("1h",)), name="a")
    b = _view(Aggregation("count", windows=("1h",)), name="b")
    with pytest.raises(
        FeatureError, match="customer__checkouts__count__1h is already defined by feature view a"
    ):
        FeatureSet((a, b))


def test_on_demand_inputs_must_exist() -> None:
    view = _view(Aggregation("count", windows=("1h",)))
    bad = DerivedFeature("rate", tf.safe_ratio, feature_inputs=("customer__checkouts__count__2h", "x"))
    with pytest.raises(
        FeatureError, match="on-demand feature rate: feature input 'customer__checkouts__count__2h'"
    ):
        FeatureSet((view,), on_demand=(bad,))


def test_version_is_stable_and_tracks_content() -> None:
    one = FeatureSet((_view(Aggregation("count", windows=("1h",))),))
    same = FeatureSet((_view(Aggregation("count", windows=("1h",))),))
    other = FeatureSet((_view(Aggregation("count", windows=("2h",))),))
    assert one.version == same.version
    assert one.version != other.version
    assert len(CATALOG.version) == 16


def test_on_demand_compute_is_the_same_on_a_column_and_on_one_request() -> None:
    feature = RequestFeature(
        "ratio",
        tf.safe_ratio,
        feature_inputs=("mean",),
        request_inputs=("amount",),
        arguments=("amount", "mean"),
    )
    amounts = np.array([100.0, 50.0, 7.0])
    means = np.array([50.0, np.nan, 0.0])
    column = feature.compute({"amount": amounts, "mean": means})
    rows = [feature.compute({"amount": a, "mean": m})[0] for a, m in zip(amounts, means, strict=True)]
    np.testing.assert_array_equal(column, np.array(rows))
    assert column[0] == 2.0
    assert np.isnan(column[1])
    assert np.isnan(column[2])


def test_catalog_size_and_groups() -> None:
    assert len(CATALOG) >= 100
    assert len(FRAUD_FEATURES) >= 60
    assert {"fraud", "credit", "recs"} <= set(CATALOG.groups)
    # credit's repayment features never read the end-of-data columns that leak
    for f in CREDIT_FEATURES.features:
        text = " ".join(x for x in (f.column, f.where) if x)
        assert "days_past_due" not in text.replace("max_days_past_due", ""), f.name
        assert "status" not in text, f.name
    assert all("product_id" in f.join_keys for f in RECS_FEATURES.features if f.entities == ("product",))
    # an on-demand feature pulls in the views it reads
    tenure = CATALOG.subset(["tenure_days"])
    assert "customer__created_at_us__max__all" in tenure.feature_names
    assert FEATURE_TIME in tenure.on_demand[0].request_inputs
