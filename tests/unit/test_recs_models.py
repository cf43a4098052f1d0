"""EASE, ALS and popularity follow one fit/recommend contract; remove-seen never returns a seen item."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.errors import NotFittedError, SchemaError
from cartwise.models.base import Recommender
from cartwise.models.recs import ALS, EASE, Popularity
from cartwise.models.recs.interactions import InteractionMatrix, implicit_feedback


def synthetic_interactions(seed: int = 0, n_users: int = 60, n_items: int = 40) -> pd.DataFrame:
    """Two taste groups: users < half like the first half of items, the rest the second half."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        pool = np.arange(n_items // 2) if u < n_users // 2 else np.arange(n_items // 2, n_items)
        for i in rng.choice(pool, size=8, replace=False):
            rows.append((u, int(i), float(rng.integers(1, 4))))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "weight"])


MODELS = [
    lambda: EASE(l2=10.0),
    lambda: EASE(l2=10.0, dropout=0.5, binary=True),
    lambda: ALS(factors=8, iterations=5, num_threads=1, seed=1),
    lambda: Popularity(),
]


@pytest.fixture(scope="module")
def interactions() -> pd.DataFrame:
    return synthetic_interactions()


@pytest.mark.parametrize("make", MODELS)
def test_contract(make, interactions: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    model = make()
    assert isinstance(model, Recommender)
    with pytest.raises(NotFittedError):
        model.recommend([0], 5)
    assert model.fit(interactions) is model
    recs = model.recommend([0, 1, 59], k=5)
    assert list(recs.columns) == ["user_id", "item_id", "score", "rank"]
    for _, group in recs.groupby("user_id"):
        assert group["rank"].tolist() == list(range(1, len(group) + 1))
        assert group["score"].is_monotonic_decreasing
        assert len(group) == 5


@pytest.mark.parametrize("make", MODELS)
def test_remove_seen_never_returns_a_seen_item(make, interactions: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    model = make().fit(interactions)
    users = interactions["user_id"].unique()
    recs = model.recommend(users, k=30, remove_seen=True)
    seen = set(zip(interactions["user_id"], interactions["item_id"], strict=True))
    assert not any((u, i) in seen for u, i in zip(recs["user_id"], recs["item_id"], strict=True))
    # and with remove_seen off, seen items do come back for a personalised model
    if not isinstance(model, Popularity):
        kept = model.recommend(users, k=30, remove_seen=False)
        assert any((u, i) in seen for u, i in zip(kept["user_id"], kept["item_id"], strict=True))


@pytest.mark.parametrize("make", MODELS[:3])
def test_personalised_models_recommend_within_the_users_taste_group(make, interactions: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    model = make().fit(interactions)
    recs = model.recommend([0, 59], k=5)
    assert (recs.loc[recs["user_id"] == 0, "item_id"] < 20).all()
    assert (recs.loc[recs["user_id"] == 59, "item_id"] >= 20).all()


def test_unknown_shopper_gets_popular_items(interactions: pd.DataFrame) -> None:
    model = EASE(l2=10.0).fit(interactions)
    recs = model.recommend(["nobody", "ghost"], k=3)
    counts = interactions.groupby("item_id")["user_id"].nunique()
    ghost = recs.loc[recs["user_id"] == "ghost", "item_id"]
    # ties may come in any order: compare the popularity of what was recommended
    assert sorted(counts[ghost].tolist(), reverse=True) == sorted(counts, reverse=True)[:3]
    assert recs.loc[recs["user_id"] == "nobody", "item_id"].tolist() == ghost.tolist()


def test_ease_weights_have_zero_diagonal_and_solve_the_ridge_system(interactions: pd.DataFrame) -> None:
    model = EASE(l2=10.0, binary=True).fit(interactions)
    B = model.weights_.astype(np.float64)
    assert np.allclose(np.diag(B), 0.0)
    X = InteractionMatrix.from_frame(interactions, binary=True).matrix.toarray().astype(np.float64)
    G = X.T @ X
    # Optimality: (G + λI) B - G is zero off the diagonal (the diagonal holds the constraint's multipliers).
    R = (G + 10.0 * np.eye(len(G))) @ B - G
    np.fill_diagonal(R, 0.0)
    assert np.abs(R).max() < 1e-3


def test_ease_keeps_only_the_most_interacted_items_above_max_items(interactions: pd.DataFrame) -> None:
    model = EASE(l2=10.0, max_items=10).fit(interactions)
    top = interactions["item_id"].value_counts().index[:10]
    assert set(model.item_ids) == set(top)


def test_segment_popularity_ranks_within_the_segment(interactions: pd.DataFrame) -> None:
    frame = interactions.assign(segment=np.where(interactions["user_id"] < 30, "young", "established"))
    model = Popularity(min_segment_users=5).fit(frame)
    assert (model.recommend_segment("young", 5)["item_id"] < 20).all()
    assert (model.recommend_segment("established", 5)["item_id"] >= 20).all()
    assert len(model.recommend_segment("unknown-segment", 5)) == 5


@pytest.mark.parametrize(
    ("model", "match"),
    [(EASE(l2=-1.0), "l2"), (EASE(dropout=1.0), "dropout"), (ALS(num_threads=8), "num_threads")],
)
def test_bad_parameters_are_named(model, match: str, interactions: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        model.fit(interactions)


def test_bad_interactions_are_refused() -> None:
    with pytest.raises(SchemaError, match="item_id"):
        EASE().fit(pd.DataFrame({"user_id": [1]}))
    with pytest.raises(ValueError, match="empty"):
        EASE().fit(pd.DataFrame({"user_id": [], "item_id": []}))
    with pytest.raises(SchemaError, match="weights"):
        EASE().fit(pd.DataFrame({"user_id": [1], "item_id": [1], "weight": [-1.0]}))


def test_implicit_feedback_weights_event_types_and_decays_with_age() -> None:
    at = pd.to_datetime(["2024-03-31", "2024-03-31", "2024-03-01", "2024-03-31"], utc=True)
    events = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2],
            "product_id": [10, 10, 11, 10],
            "event_type": ["view", "purchase", "purchase", "add_to_cart"],
            "event_at": at,
        }
    )
    out = implicit_feedback(events, half_life_days=30.0, as_of="2024-03-31").set_index(["user_id", "item_id"])
    assert out.loc[(1, 10), "weight"] == pytest.approx(1.0 + 5.0)
    assert out.loc[(1, 11), "weight"] == pytest.approx(5.0 * 0.5)  # 30 days old = one half-life
    assert out.loc[(2, 10), "weight"] == pytest.approx(3.0)
    with pytest.raises(SchemaError, match="refund"):
        implicit_feedback(events.assign(event_type="refund"))
