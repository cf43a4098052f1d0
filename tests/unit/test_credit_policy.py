"""Credit limit and plan policy by expected profit under a risk appetite."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartwise.decisions.credit_policy import CreditPolicy, CreditPolicyParams, PlanTerms
from cartwise.errors import ConfigError, MetricInputError


@settings(max_examples=60, deadline=None)
@given(
    pd_=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    appetite=st.floats(0.0, 0.3),
    amount=st.integers(100, 400_000),
)
def test_never_approves_a_plan_above_the_risk_appetite(
    pd_: list[float], appetite: float, amount: int
) -> None:
    params = CreditPolicyParams(risk_appetite=appetite)
    policy = CreditPolicy(params)
    p = np.array(pd_)
    out = policy.decide(p, np.full(len(p), amount))
    margin, el = policy.rates(p)
    plans = list(params.plan_types)
    for i, row in out.iterrows():
        for plan in row["approved_plans"]:
            j = plans.index(plan)
            assert el[i, j] <= appetite + 1e-12
            assert margin[i, j] > 0
            assert policy.limits(p[[i]])[0, j] >= amount
        if row["decision"] == "approve":
            assert row["expected_profit_minor"] > 0
            assert row["limit_minor"] >= amount


def test_worked_example_by_hand() -> None:
    """PD 2 %, LGD 0.85, pay-in-4 exposure 0.75, fee 4 %: el = 1.275 %, limit = floor(2500 / 0.01275) = 196,078."""
    params = CreditPolicyParams(
        merchant_fee_rate=0.04,
        loss_given_default=0.85,
        risk_appetite=0.05,
        funding_cost_annual=0.0,
        max_expected_loss_minor=2_500,
        max_limit_minor=1_000_000,
        plans=(PlanTerms("pay_in_4", 4, 14, 0.75, 1.0),),
    )
    policy = CreditPolicy(params)
    out = policy.decide(np.array([0.02]), np.array([10_000]))
    assert out["decision"].iat[0] == "approve"
    assert out["limit_minor"].iat[0] == 196_078
    assert out["expected_profit_minor"].iat[0] == pytest.approx(10_000 * (0.04 - 0.02 * 0.85 * 0.75))
    assert out["expected_loss_rate"].iat[0] == pytest.approx(0.01275)


def test_riskier_applicants_get_smaller_limits_and_fewer_plans() -> None:
    policy = CreditPolicy(CreditPolicyParams(risk_appetite=0.06))
    p = np.array([0.01, 0.03, 0.06, 0.2])
    out = policy.decide(p, np.full(4, 5_000))
    limits = out["limit_minor"].to_numpy()
    assert (np.diff(limits) <= 0).all()
    n_plans = out["approved_plans"].map(len).to_numpy()
    assert (np.diff(n_plans) <= 0).all()
    assert out["decision"].iat[-1] == "decline"


def test_longer_plans_cost_more_to_fund() -> None:
    params = CreditPolicyParams(merchant_fee_rate=0.0, funding_cost_annual=0.1)
    margin, _ = CreditPolicy(params).rates(np.zeros(1))
    assert (np.diff(margin[0, 1:]) < 0).all()  # 3 -> 6 -> 12 months


def test_per_plan_pd_matrix_and_errors() -> None:
    policy = CreditPolicy()
    out = policy.decide(np.array([[0.01, 0.01, 0.5, 0.5]]), np.array([2_000]))
    assert out["approved_plans"].iat[0] == ["pay_in_4", "pay_monthly_3"]
    with pytest.raises(MetricInputError, match="one column per plan"):
        policy.decide(np.zeros((1, 3)), np.array([2_000]))
    with pytest.raises(MetricInputError, match="probabilities"):
        policy.decide(np.array([1.5]), np.array([2_000]))
    with pytest.raises(MetricInputError, match="positive"):
        policy.decide(np.array([0.1]), np.array([0]))
    with pytest.raises(ConfigError, match="risk_appetite"):
        CreditPolicyParams(risk_appetite=2.0)
    with pytest.raises(ConfigError, match="not one of"):
        CreditPolicyParams(plans=(PlanTerms("pay_in_7", 7, 14, 1.0, 1.0),))


def test_params_round_trip_through_plain_dicts() -> None:
    params = CreditPolicyParams(risk_appetite=0.03, max_limit_minor=99_000)
    assert CreditPolicyParams.from_dict(params.to_dict()) == params


def test_realised_profit_counts_defaults_as_losses() -> None:
    params = CreditPolicyParams(funding_cost_annual=0.0, plans=(PlanTerms("pay_monthly_3", 3, 30, 1.0, 1.0),))
    policy = CreditPolicy(params)
    out = policy.decide(np.array([0.01, 0.01]), np.array([10_000, 10_000]))
    profit = policy.realised_profit(out, np.array([10_000, 10_000]), np.array([0, 1]))
    assert profit == pytest.approx(2 * 10_000 * 0.04 - 10_000 * params.loss_given_default)


def test_profit_curve_and_score_bands_on_known_outcomes() -> None:
    import pandas as pd

    from cartwise.models.credit.evaluate import default_rate_by_band, profit_curve

    rng = np.random.default_rng(3)
    pd_ = rng.uniform(0.0, 0.2, 2_000)
    y = (rng.random(2_000) < pd_).astype(float)
    orders = pd.DataFrame(
        {"amount_minor": np.full(2_000, 10_000), "plan_type": "pay_in_4", "fee_rate": np.full(2_000, 0.05)}
    )
    params = CreditPolicyParams(funding_cost_annual=0.0, loss_given_default=0.85)
    curve = profit_curve(pd_, y, orders, params, [0.01, 0.05, 1.0])
    # A looser appetite approves more; at 1.0 only the profit test binds: fee 5 % > PD x 0.85 x 0.75.
    assert list(curve["approval_rate"]) == sorted(curve["approval_rate"])
    assert curve["approval_rate"].iat[-1] == pytest.approx(np.mean(pd_ * 0.85 * 0.75 < 0.05))
    approved = pd_ * 0.85 * 0.75 <= 0.01
    expected = float((10_000 * (0.05 - y[approved] * 0.85 * 0.75)).sum())
    assert curve["realised_profit_minor"].iat[0] == pytest.approx(expected)
    bands = default_rate_by_band(pd_, y, n_bands=5)
    assert bands["n"].sum() == 2_000
    assert (np.diff(bands["mean_pd"]) > 0).all()
    assert bands["default_rate"].iat[-1] > bands["default_rate"].iat[0]


@settings(max_examples=60, deadline=None)
@given(amount=st.integers(0, 10_000_000), n=st.integers(1, 24))
def test_installment_schedule_sums_to_the_amount_like_the_ledger(amount: int, n: int) -> None:
    from cartwise.data.simulator.plans import split_amounts

    terms = PlanTerms("plan", n, 30, 1.0, 1.0)
    schedule = terms.installment_amounts(amount)
    assert sum(schedule) == amount
    assert len(schedule) == n
    assert max(schedule) - min(schedule) <= 1
    assert list(schedule) == sorted(schedule, reverse=True)  # the first carry the remainder
    ledger = split_amounts(np.array([amount], dtype=np.int64), np.array([n], dtype=np.int64))
    assert list(schedule) == ledger.tolist()


def test_installment_schedule_by_hand_and_bad_amount() -> None:
    assert (
        PlanTerms("pay_monthly_12", 12, 30, 1.0, 1.0).installment_amounts(12_999) == (1084,) * 3 + (1083,) * 9
    )
    with pytest.raises(MetricInputError, match="negative"):
        PlanTerms("pay_in_4", 4, 14, 0.75, 1.0).installment_amounts(-1)
