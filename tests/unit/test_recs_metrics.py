"""Ranking metrics against small cases computed by hand (Microsoft Recommenders' definitions)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cartwise.errors import SchemaError
from cartwise.models.recs.metrics import (
    catalog_coverage,
    evaluate_ranking,
    map_at_k,
    map_score,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    top_k_items,
)


@pytest.fixture
def truth() -> pd.DataFrame:
    # u1 has 3 relevant items, u2 one, u3 one but no predictions at all.
    return pd.DataFrame({"user_id": [1, 1, 1, 2, 3], "item_id": ["a", "b", "c", "d", "e"]})


@pytest.fixture
def pred() -> pd.DataFrame:
    # Deliberately unsorted: the metrics must rank by score. u4 is not in the truth.
    return pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 4],
            "item_id": ["b", "a", "x", "d", "y", "a"],
            "score": [0.7, 0.9, 0.8, 0.4, 0.5, 1.0],
        }
    )


def test_precision_divides_hits_by_k_over_common_users(truth: pd.DataFrame, pred: pd.DataFrame) -> None:
    # common users {1, 2}: u1 hits a@1, b@3; u2 hits d@2 -> (2/3 + 1/3) / 2
    assert precision_at_k(truth, pred, 3) == pytest.approx(0.5)


def test_recall_divides_hits_by_relevant_items(truth: pd.DataFrame, pred: pd.DataFrame) -> None:
    assert recall_at_k(truth, pred, 3) == pytest.approx((2 / 3 + 1 / 1) / 2)


def test_map_is_normalised_by_all_relevant_items(truth: pd.DataFrame, pred: pd.DataFrame) -> None:
    # u1: (1/1 + 2/3) / 3 relevant; u2: (1/2) / 1 -> mean over 2 common users
    assert map_score(truth, pred, 3) == pytest.approx(((1 + 2 / 3) / 3 + 0.5) / 2)
    # at k=2 u1 keeps only a@1: MAP divides by 3 relevant, MAP@k by min(3, 2)
    assert map_score(truth, pred, 2) == pytest.approx((1 / 3 + 0.5) / 2)
    assert map_at_k(truth, pred, 2) == pytest.approx((1 / 2 + 0.5) / 2)


def test_ndcg_binary_natural_log_over_every_true_user(truth: pd.DataFrame, pred: pd.DataFrame) -> None:
    ln = math.log
    u1 = (1 / ln(2) + 1 / ln(4)) / (1 / ln(2) + 1 / ln(3) + 1 / ln(4))
    u2 = (1 / ln(3)) / (1 / ln(2))
    # u3 is in the truth with no prediction: it counts as 0 in nDCG's mean
    assert ndcg_at_k(truth, pred, 3) == pytest.approx((u1 + u2 + 0.0) / 3)


def test_ideal_dcg_is_capped_at_k() -> None:
    truth = pd.DataFrame({"user_id": [1] * 5, "item_id": list("abcde")})
    pred = pd.DataFrame({"user_id": [1, 1], "item_id": ["a", "b"], "score": [2.0, 1.0]})
    assert ndcg_at_k(truth, pred, 2) == pytest.approx(1.0)


def test_no_hit_gives_zero_everywhere(truth: pd.DataFrame) -> None:
    miss = pd.DataFrame({"user_id": [1], "item_id": ["zz"], "score": [1.0]})
    for metric in (precision_at_k, recall_at_k, map_score, map_at_k, ndcg_at_k):
        assert metric(truth, miss, 10) == 0.0


def test_ties_keep_input_order_and_ranks_start_at_one() -> None:
    pred = pd.DataFrame({"user_id": [1, 1, 1], "item_id": ["p", "q", "r"], "score": [1.0, 1.0, 2.0]})
    top = top_k_items(pred, 2)
    assert top["item_id"].tolist() == ["r", "p"]
    assert top["rank"].tolist() == [1, 2]


def test_coverage_counts_distinct_recommended_over_distinct_train_items() -> None:
    train = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": ["a", "b", "c", "d"]})
    recs = pd.DataFrame({"user_id": [1, 2, 2], "item_id": ["c", "c", "a"], "score": [1.0, 1.0, 0.5]})
    assert catalog_coverage(train, recs) == pytest.approx(2 / 4)


def test_evaluate_ranking_cuts_at_k_before_scoring(truth: pd.DataFrame, pred: pd.DataFrame) -> None:
    train = pd.DataFrame({"user_id": [9, 9], "item_id": ["a", "x"]})
    m = evaluate_ranking(truth, pred, train, k=2)
    assert m.map == pytest.approx(map_score(truth, pred, 2))
    assert m.precision_at_k == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert m.n_users == 2


def test_missing_column_is_named() -> None:
    with pytest.raises(SchemaError, match="score"):
        precision_at_k(
            pd.DataFrame({"user_id": [1], "item_id": [1]}), pd.DataFrame({"user_id": [1], "item_id": [1]})
        )
