"""Expected-cost fraud policy: the rule, the never-decline property, threshold choice, state."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartwise.decisions.fraud_policy import FraudCosts, FraudPolicy
from cartwise.errors import MetricInputError

probability = st.floats(0.0, 1.0, allow_nan=False)
amount = st.floats(0.0, 1e6, allow_nan=False)
costs = st.builds(
    FraudCosts,
    margin_rate=st.floats(0.001, 0.5),
    margin_fixed=st.floats(0.0, 5.0),
    loss_given_fraud=st.floats(0.01, 1.0),
    review_cost=st.floats(0.0, 10.0),
    review_detection_rate=st.floats(0.0, 1.0),
)


def test_rule_by_hand() -> None:
    policy = FraudPolicy(
        FraudCosts(margin_rate=0.05, loss_given_fraud=1.0), decline_ratio=1.0, review_ratio=0.5
    )
    # p=.5, A=100: loss 50 vs margin lost .5*5=2.5 -> r=20 -> decline
    # p=.02, A=100: loss 2 vs .98*5=4.9 -> r=.41 -> approve; p=.035: 3.5 vs 4.825 -> r=.73 -> review
    decisions = policy.decide([0.5, 0.02, 0.035], [100.0, 100.0, 100.0])
    assert decisions.tolist() == ["decline", "approve", "review"]
    np.testing.assert_allclose(policy.cost_ratio([0.5], [100.0]), [20.0])


@settings(max_examples=300, deadline=None)
@given(
    c=costs,
    decline_ratio=st.floats(1.0, 100.0),
    review_ratio=st.floats(0.0, 100.0),
    p=st.lists(probability, min_size=1, max_size=30),
    a=st.lists(amount, min_size=30, max_size=30),
)
def test_never_declines_when_expected_loss_is_below_the_margin(
    c: FraudCosts, decline_ratio: float, review_ratio: float, p: list[float], a: list[float]
) -> None:
    policy = FraudPolicy(c, decline_ratio=decline_ratio, review_ratio=review_ratio)
    prob, amt = np.array(p), np.array(a[: len(p)])
    decisions = policy.decide(prob, amt)
    loss = prob * amt * c.loss_given_fraud
    margin_lost = (1 - prob) * (c.margin_rate * amt + c.margin_fixed)
    assert not np.any((decisions == "decline") & (loss <= margin_lost))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), c=costs)
def test_fitted_policy_keeps_the_property(seed: int, c: FraudCosts) -> None:
    rng = np.random.default_rng(seed)
    p = rng.beta(0.3, 8, 400)
    y = (rng.uniform(size=400) < p).astype(int)
    amt = rng.lognormal(4, 1, 400)
    policy = FraudPolicy(c, max_false_decline_rate=0.05, max_review_rate=0.1, n_grid=50).fit(y, p, amt)
    review, decline = policy.thresholds
    assert decline >= 1.0
    assert review <= decline
    probe_p, probe_a = rng.uniform(size=2000), rng.lognormal(4, 1, 2000)
    decisions = policy.decide(probe_p, probe_a)
    loss = probe_p * probe_a * c.loss_given_fraud
    assert not np.any(
        (decisions == "decline") & (loss <= (1 - probe_p) * (c.margin_rate * probe_a + c.margin_fixed))
    )


@pytest.fixture(scope="module")
def validation() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 20_000
    y = (rng.uniform(size=n) < 0.01).astype(int)
    p = np.clip(np.where(y == 1, rng.beta(4, 3, n), rng.beta(0.5, 40, n)), 0, 1)
    amt = rng.lognormal(4, 0.8, n)
    return y, p, amt


def test_fit_respects_constraints_and_saves_money(validation: tuple) -> None:
    y, p, amt = validation
    policy = FraudPolicy(FraudCosts(), max_review_rate=0.01, max_false_decline_rate=0.001).fit(y, p, amt)
    report = policy.validation_report_
    assert report.review_rate <= 0.01
    assert report.false_decline_rate <= 0.001
    assert report.money_saved > 0
    assert 0 < report.fraud_caught_rate <= 1
    # a looser false-decline budget can only save as much or more
    loose = FraudPolicy(FraudCosts(), max_review_rate=0.01, max_false_decline_rate=0.01).fit(y, p, amt)
    assert loose.validation_report_.money_saved >= report.money_saved


def test_money_saved_by_hand() -> None:
    costs = FraudCosts(margin_rate=0.1, loss_given_fraud=1.0, review_cost=1.0, review_detection_rate=0.5)
    policy = FraudPolicy(costs, decline_ratio=10.0, review_ratio=1.0)
    y = [1, 0, 1, 0]
    p = [0.9, 0.9, 0.3, 0.01]
    a = [100.0, 100.0, 50.0, 100.0]
    # r: 900/1=900 decline; 900 decline (good: -10 margin); 15/3.5=4.3 review (.5*50-1=24); .1 approve
    report = policy.evaluate(y, p, a)
    assert report.money_saved == pytest.approx(100 - 10 + 24)
    assert report.decline_rate == pytest.approx(0.5)
    assert report.review_rate == pytest.approx(0.25)
    assert report.false_decline_rate == pytest.approx(0.5)
    assert report.fraud_caught_rate == pytest.approx((100 + 25) / 150)


def test_state_round_trips_and_bad_thresholds_are_refused(validation: tuple) -> None:
    y, p, amt = validation
    policy = FraudPolicy().fit(y, p, amt)
    again = FraudPolicy.from_dict(json.loads(json.dumps(policy.to_dict())))
    assert again.thresholds == policy.thresholds
    np.testing.assert_array_equal(again.decide(p, amt), policy.decide(p, amt))
    with pytest.raises(MetricInputError, match="below 1"):
        FraudPolicy(decline_ratio=0.5).decide([0.5], [10.0])
    with pytest.raises(MetricInputError, match=r"\[0, 1\]"):
        FraudPolicy().decide([1.5], [10.0])


@settings(max_examples=300, deadline=None)
@given(
    p=st.floats(0.0, 1.0),
    amount=st.floats(0.0, 1e8),
    review=st.floats(0.0, 50.0),
    decline=st.floats(1.0, 100.0),
)
def test_decide_one_matches_the_vectorised_rule(
    p: float, amount: float, review: float, decline: float
) -> None:
    policy = FraudPolicy(FraudCosts(), decline_ratio=decline, review_ratio=review)
    assert policy.decide_one(p, amount) == policy.decide(np.array([p]), np.array([amount]))[0]


def test_decide_one_refuses_what_decide_refuses() -> None:
    policy = FraudPolicy(FraudCosts())
    with pytest.raises(MetricInputError, match="probabilities"):
        policy.decide_one(1.5, 100.0)
    with pytest.raises(MetricInputError, match="amounts"):
        policy.decide_one(0.5, -1.0)
