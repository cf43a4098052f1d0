"""Affordability re-ranking: strict mode never recommends above the limit; the declined share is measured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartwise.models.recs.affordability import (
    Affordability,
    AffordabilityReranker,
    PlanOption,
    declined_share,
)

PRICES = pd.Series({i: (i + 1) * 1_000 for i in range(30)})  # 10.00 .. 300.00


def candidates(users: list[int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(u, int(i), float(s)) for u in users for i, s in zip(range(30), rng.random(30), strict=True)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "score"])


@settings(max_examples=40, deadline=None)
@given(
    limits=st.lists(st.integers(min_value=0, max_value=40_000), min_size=1, max_size=5),
    seed=st.integers(0, 99),
)
def test_strict_never_recommends_above_what_the_shopper_can_be_approved_for(
    limits: list[int], seed: int
) -> None:
    shoppers = {u: Affordability(limit) for u, limit in enumerate(limits)}
    out = AffordabilityReranker("strict").rerank(candidates(list(shoppers), seed), PRICES, shoppers, k=10)
    assert (
        out["price_minor"].to_numpy()
        <= out["user_id"].map({u: a.available_limit_minor for u, a in shoppers.items()}).to_numpy()
    ).all()
    assert declined_share(out, PRICES, shoppers) == 0.0


def test_plan_maximum_caps_the_approvable_amount() -> None:
    shopper = Affordability(
        50_000, plans=(PlanOption("pay_in_4", 4, 8_000), PlanOption("pay_monthly_3", 3, 12_000))
    )
    assert shopper.approvable_amount_minor == 12_000
    out = AffordabilityReranker("strict").rerank(candidates([1]), PRICES, {1: shopper}, k=30)
    assert out["price_minor"].max() <= 12_000
    assert len(out) == 12


def test_soft_mode_demotes_instead_of_dropping() -> None:
    cands = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [29, 0, 1], "score": [3.0, 2.0, 1.0]})
    shoppers = {1: Affordability(5_000)}
    out = AffordabilityReranker("soft").rerank(cands, PRICES, shoppers, k=3)
    assert out["item_id"].tolist() == [0, 1, 29]  # 300.00 vs 50.00 limit: pushed to the end, still there
    assert declined_share(cands.head(1), PRICES, shoppers) == 1.0


def test_declined_share_before_and_after() -> None:
    shoppers = {u: Affordability(5_000) for u in range(3)}
    before = candidates(list(shoppers)).sort_values(["user_id", "score"], ascending=[True, False])
    top = before.groupby("user_id").head(10)
    share_before = declined_share(top, PRICES, shoppers)
    after = AffordabilityReranker("strict").rerank(before, PRICES, shoppers, k=10)
    assert share_before > 0.5  # only 5 of 30 items cost 50.00 or less
    assert declined_share(after, PRICES, shoppers) == 0.0


def test_missing_price_or_shopper_is_named() -> None:
    cands = pd.DataFrame({"user_id": [1], "item_id": [999], "score": [1.0]})
    with pytest.raises(ValueError, match="999"):
        AffordabilityReranker().rerank(cands, PRICES, {1: Affordability(1)}, k=1)
    with pytest.raises(ValueError, match="no affordability"):
        AffordabilityReranker().rerank(cands.assign(item_id=1), PRICES, {}, k=1)
    with pytest.raises(ValueError, match="mode"):
        AffordabilityReranker("lenient").rerank(cands, PRICES, {1: Affordability(1)})
