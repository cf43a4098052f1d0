"""Online state: merging by row id and version, eviction, encoding, and window semantics at read time."""

from __future__ import annotations

import numpy as np
import pytest

from cartwise.errors import FeatureError, OnlineStoreError
from cartwise.features.definitions import Aggregation, Entity, EventSource, FeatureSet, FeatureView
from cartwise.features.online.plan import ViewPlan, build_plan
from cartwise.features.online.state import ViewState, compute_features

HOUR = 3_600_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01

CUSTOMER = Entity("customer", "customer_id")
CHECKOUTS = EventSource("checkouts", "checkouts", "created_at")
CHARGEBACKS = EventSource("chargebacks", "chargebacks", "order_created_at", known_at_column="reported_at")


def _plan(view: FeatureView) -> ViewPlan:
    return build_plan(FeatureSet(views=(view,)), lateness_us=HOUR).views[0]


@pytest.fixture
def checkout_plan() -> ViewPlan:
    return _plan(
        FeatureView(
            "velocity",
            CHECKOUTS,
            (CUSTOMER,),
            (
                Aggregation("count", windows=("1h", "24h")),
                Aggregation("sum", "amount_minor", windows=("1h", "24h")),
                Aggregation("mean", "amount_minor", windows=("24h",)),
                Aggregation("max", "amount_minor", windows=("24h",)),
                Aggregation("count_distinct", "device_id", windows=("24h",)),
                Aggregation("last", "amount_minor", windows=("24h",)),
            ),
        )
    )


def _rows(plan: ViewPlan, rows: list[tuple[int, int, int, float, int]]) -> np.ndarray:
    """(ts, id, version, amount, device hash) rows in the state layout of ``checkout_plan``."""
    out = np.zeros((len(rows), 3 + len(plan.value_sql)), np.int64)
    amount = plan.value_sql.index("CAST((amount_minor) AS DOUBLE)")
    device = next(i for i, h in enumerate(plan.hashed) if h)
    for r, (ts, row_id, ver, value, device_hash) in enumerate(rows):
        out[r, :3] = (ts, row_id, ver)
        out[r, 3 + amount] = np.array([value], np.float64).view(np.int64)[0]
        out[r, 3 + device] = device_hash
    return out


def test_the_same_row_applied_twice_counts_once(checkout_plan: ViewPlan) -> None:
    state = ViewState.empty(checkout_plan)
    rows = _rows(checkout_plan, [(T0, 1, T0, 100.0, 7), (T0 + 10, 2, T0 + 10, 50.0, 8)])
    assert state.merge(rows) == 2
    assert state.merge(rows) == 0
    assert state.merge(rows[1:]) == 0
    features = compute_features(checkout_plan, state, T0 + HOUR)
    assert features["customer__checkouts__count__1h"] == 2
    assert features["customer__amount_minor__sum__1h"] == 150


def test_a_newer_version_replaces_the_row_whatever_the_arrival_order(checkout_plan: ViewPlan) -> None:
    old = _rows(checkout_plan, [(T0, 1, T0, 100.0, 7)])
    new = _rows(checkout_plan, [(T0, 1, T0 + 5 * HOUR, 80.0, 7)])
    for first, second in ((old, new), (new, old)):
        state = ViewState.empty(checkout_plan)
        state.merge(first)
        state.merge(second)
        assert len(state) == 1
        assert compute_features(checkout_plan, state, T0 + 1)["customer__amount_minor__sum__1h"] == 80


def test_late_rows_land_in_time_order(checkout_plan: ViewPlan) -> None:
    state = ViewState.empty(checkout_plan)
    state.merge(_rows(checkout_plan, [(T0 + 2 * HOUR, 2, 0, 10.0, 7)]))
    state.merge(_rows(checkout_plan, [(T0 + HOUR, 1, 0, 20.0, 8)]))
    assert state.rows[:, 0].tolist() == [T0 + HOUR, T0 + 2 * HOUR]
    assert (
        compute_features(checkout_plan, state, T0 + 2 * HOUR + 1)["customer__amount_minor__last__24h"] == 10
    )


def test_window_is_half_open_event_at_t_minus_w_in_event_at_t_out(checkout_plan: ViewPlan) -> None:
    state = ViewState.empty(checkout_plan)
    state.merge(_rows(checkout_plan, [(T0, 1, 0, 1.0, 7), (T0 + HOUR, 2, 0, 2.0, 8)]))
    at = T0 + HOUR
    features = compute_features(checkout_plan, state, at)
    assert features["customer__checkouts__count__1h"] == 1  # T0 == at - 1h is in, at itself is out
    assert features["customer__amount_minor__sum__1h"] == 1
    assert compute_features(checkout_plan, state, at + 1)["customer__checkouts__count__1h"] == 1


def test_empty_windows_give_the_definitions_defaults(checkout_plan: ViewPlan) -> None:
    features = compute_features(checkout_plan, None, T0)
    assert features["customer__checkouts__count__1h"] == 0
    assert features["customer__amount_minor__sum__24h"] == 0
    assert features["customer__amount_minor__mean__24h"] is None
    assert features["customer__amount_minor__last__24h"] is None
    assert features["customer__device_id__count_distinct__24h"] == 0


def test_distinct_count_mean_and_max(checkout_plan: ViewPlan) -> None:
    state = ViewState.empty(checkout_plan)
    state.merge(_rows(checkout_plan, [(T0, 1, 0, 10.0, 7), (T0 + 1, 2, 0, 30.0, 7), (T0 + 2, 3, 0, 20.0, 9)]))
    features = compute_features(checkout_plan, state, T0 + HOUR)
    assert features["customer__device_id__count_distinct__24h"] == 2
    assert features["customer__amount_minor__mean__24h"] == 20
    assert features["customer__amount_minor__max__24h"] == 30


def test_eviction_drops_only_rows_older_than_the_cutoff(checkout_plan: ViewPlan) -> None:
    state = ViewState.empty(checkout_plan)
    state.merge(_rows(checkout_plan, [(T0, 1, 0, 1.0, 7), (T0 + 3 * HOUR, 2, 0, 2.0, 7)]))
    assert state.evict(T0 + HOUR, label=False) == 1
    assert state.rows[:, 1].tolist() == [2]


def test_encoding_round_trips_and_refuses_another_layout(checkout_plan: ViewPlan) -> None:
    state = ViewState.empty(checkout_plan)
    state.merge(_rows(checkout_plan, [(T0, 1, 0, 1.5, 7)]))
    back = ViewState.decode(state.encode(checkout_plan), checkout_plan)
    assert np.array_equal(back.rows, state.rows)
    other = _plan(FeatureView("other", CHECKOUTS, (CUSTOMER,), (Aggregation("count", windows=("1h",)),)))
    with pytest.raises(OnlineStoreError, match="materialize"):
        ViewState.decode(state.encode(checkout_plan), other)


def test_label_rows_count_only_once_known() -> None:
    plan = _plan(FeatureView("cb", CHARGEBACKS, (CUSTOMER,), (Aggregation("count", windows=("24h",)),)))
    state = ViewState.empty(plan)
    row = np.array([[T0, 1, 0, T0 + 5 * HOUR]], np.int64)  # order at T0, reported 5 h later
    state.merge(row)
    assert compute_features(plan, state, T0 + 5 * HOUR)["customer__chargebacks__count__24h"] == 0
    assert compute_features(plan, state, T0 + 5 * HOUR + 1)["customer__chargebacks__count__24h"] == 1
    assert compute_features(plan, state, T0 + 24 * HOUR + 1)["customer__chargebacks__count__24h"] == 0


def test_a_view_mixing_bounded_and_all_windows_keeps_two_states() -> None:
    view = FeatureView(
        "mixed",
        CHECKOUTS,
        (CUSTOMER,),
        (Aggregation("count", windows=("24h", "all")), Aggregation("max", "amount_minor", windows=("all",))),
    )
    bounded, unbounded = build_plan(FeatureSet(views=(view,)), lateness_us=HOUR).views
    assert bounded.name == "mixed"
    assert bounded.retention_us == 25 * HOUR
    assert [a.feature for a in bounded.aggregations] == ["customer__checkouts__count__24h"]
    assert unbounded.name == "mixed__all"
    assert unbounded.retention_us is None


def test_a_read_time_distinct_count_is_refused_by_name() -> None:
    view = FeatureView(
        "unpaid",
        EventSource("installments", "installments", "due_at"),
        (CUSTOMER,),
        (
            Aggregation(
                "count_distinct", "CASE WHEN paid_at >= feature_time THEN seq END", windows=("30d",), name="x"
            ),
        ),
    )
    with pytest.raises(FeatureError, match="unpaid"):
        build_plan(FeatureSet(views=(view,)))


def test_a_read_limited_to_some_features_gives_the_same_values_and_only_those() -> None:
    from cartwise.features.definitions import OnDemandFeature
    from cartwise.features.online.memory import MemoryOnlineStore

    device = Entity("device", "device_id")
    velocity = FeatureView(
        "velocity",
        CHECKOUTS,
        (CUSTOMER,),
        (Aggregation("count", windows=("1h", "24h")), Aggregation("sum", "amount_minor", windows=("24h",))),
    )
    devices = FeatureView("devices", CHECKOUTS, (device,), (Aggregation("count", windows=("24h",)),))
    ratio = OnDemandFeature(
        "share_last_hour",
        lambda a, b: a / b,
        feature_inputs=("customer__checkouts__count__1h", "customer__checkouts__count__24h"),
    )
    store = MemoryOnlineStore(FeatureSet(views=(velocity, devices), on_demand=(ratio,)))
    plan = store.plan.views[0]
    rows = np.zeros((3, 3 + len(plan.value_sql)), np.int64)
    rows[:, 0] = [T0 - 30 * HOUR, T0 - 2 * HOUR, T0 - HOUR // 2]
    rows[:, 1] = [1, 2, 3]
    rows[:, 3] = np.array([100.0, 200.0, 300.0]).view(np.int64)
    store.write({store.key(plan, (7,)): (ViewState(rows).encode(plan), None)})
    keys = {"customer_id": 7, "device_id": "d"}
    full = store.get_online_features(keys, T0)
    wanted = {"share_last_hour", "amount_minor"}  # a derived feature and a request field
    part = store.get_online_features(keys, T0, features=wanted)
    # the derived feature and its inputs, nothing from the device view or other aggregations
    assert set(part) == {
        "share_last_hour",
        "customer__checkouts__count__1h",
        "customer__checkouts__count__24h",
    }
    assert {k: full[k] for k in part} == part
    assert part["share_last_hour"] == pytest.approx(0.5)
