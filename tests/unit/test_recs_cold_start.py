"""New products reach recommendations through text neighbours; new shoppers through first views.

The embeddings here are small hand-made vectors (two taste directions), so the
neighbour logic is tested without loading the text model; the real model is
exercised in tests/integration/test_recs_embeddings.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.models.recs import ALS, EASE, ColdStartRecommender, Popularity, ProductEmbeddings
from cartwise.models.recs.cold_start import neighbour_weights


def taste_interactions(n_users: int = 40, n_items: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        pool = np.arange(n_items // 2) if u < n_users // 2 else np.arange(n_items // 2, n_items)
        rows += [(u, int(i)) for i in rng.choice(pool, size=6, replace=False)]
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def taste_embeddings(n_items: int = 20, n_cold: int = 4, seed: int = 0) -> ProductEmbeddings:
    """Items of the first half point one way, the second half another; cold items 100.. alternate."""
    rng = np.random.default_rng(seed)
    a, b = np.eye(8)[0], np.eye(8)[1]
    vecs = [(a if i < n_items // 2 else b) + 0.05 * rng.standard_normal(8) for i in range(n_items)]
    cold = [(a if j % 2 == 0 else b) + 0.05 * rng.standard_normal(8) for j in range(n_cold)]
    ids = np.array(list(range(n_items)) + [100 + j for j in range(n_cold)])
    m = np.vstack(vecs + cold).astype(np.float32)
    return ProductEmbeddings(ids, m / np.linalg.norm(m, axis=1, keepdims=True))


@pytest.mark.parametrize(
    "base", [EASE(l2=5.0), ALS(factors=8, iterations=5, num_threads=1, seed=3)], ids=["ease", "als"]
)
def test_cold_products_appear_in_recommendations_of_the_matching_taste(base) -> None:  # type: ignore[no-untyped-def]
    model = ColdStartRecommender(base, taste_embeddings(), neighbours=5).fit(taste_interactions())
    assert set(model.cold_item_ids) == {100, 101, 102, 103}
    recs = model.recommend([0, 39], k=6)
    first = set(recs.loc[recs["user_id"] == 0, "item_id"])
    second = set(recs.loc[recs["user_id"] == 39, "item_id"])
    # cold 100/102 look like the first group's items, 101/103 like the second's
    assert first & {100, 102}
    assert second & {101, 103}
    assert not first & {101, 103}


def test_new_shopper_is_served_from_first_views() -> None:
    model = ColdStartRecommender(EASE(l2=5.0), taste_embeddings()).fit(taste_interactions())
    recs = model.recommend(["new"], k=5, first_views={"new": [12, 13]})
    assert (recs["item_id"].isin([*list(range(10, 20)), 101, 103])).all()
    assert not recs["item_id"].isin([12, 13]).any()  # viewed items are removed


def test_new_shopper_who_viewed_only_new_products_gets_text_neighbours() -> None:
    model = ColdStartRecommender(EASE(l2=5.0), taste_embeddings()).fit(taste_interactions())
    recs = model.recommend(["new"], k=5, first_views={"new": [101]})
    assert recs["item_id"].isin([*list(range(10, 20)), 103]).all()


def test_new_shopper_without_views_gets_segment_popularity() -> None:
    interactions = taste_interactions().assign(segment=lambda f: np.where(f["user_id"] < 20, "s1", "s2"))
    model = ColdStartRecommender(
        EASE(l2=5.0), taste_embeddings(), popularity=Popularity(min_segment_users=5)
    ).fit(interactions)
    recs = model.recommend(["new"], k=5, segments={"new": "s2"})
    assert (recs["item_id"] >= 10).all()
    assert recs["user_id"].eq("new").all()


def test_neighbour_weights_sum_to_one_and_ignore_opposite_vectors() -> None:
    trained = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    cold = np.array([[1.0, 0.0]], dtype=np.float32)
    w = neighbour_weights(cold, trained, 3).toarray()
    assert w.sum() == pytest.approx(1.0)
    assert w[0, 0] == pytest.approx(1.0)
    assert w[0, 2] == 0.0


def test_embeddings_must_cover_trained_products() -> None:
    emb = taste_embeddings()
    partial = ProductEmbeddings(emb.item_ids[5:], emb.vectors[5:])
    with pytest.raises(ValueError, match="embed the whole catalogue"):
        ColdStartRecommender(EASE(l2=5.0), partial).fit(taste_interactions())
