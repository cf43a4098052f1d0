"""The bundle round trip scores identically, in a process with no training state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartwise.models.recs import ALS, EASE, ColdStartRecommender, Popularity, RecsBundle, load_bundle
from cartwise.models.recs.embeddings import ProductEmbeddings


def interactions(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (u, int(i), float(rng.integers(1, 4))) for u in range(30) for i in rng.choice(25, 6, replace=False)
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "weight"])


def embeddings() -> ProductEmbeddings:
    rng = np.random.default_rng(1)
    ids = np.array([*range(25), 500, 501])
    v = rng.standard_normal((len(ids), 6)).astype(np.float32)
    return ProductEmbeddings(ids, v / np.linalg.norm(v, axis=1, keepdims=True))


@pytest.mark.parametrize(
    "make",
    [
        lambda: EASE(l2=5.0),
        lambda: ALS(factors=6, iterations=4, num_threads=1, seed=2),
        lambda: Popularity(),
        lambda: ColdStartRecommender(EASE(l2=5.0), embeddings(), neighbours=3),
        lambda: ColdStartRecommender(ALS(factors=6, iterations=4, num_threads=1, seed=2), embeddings()),
    ],
    ids=["ease", "als", "popularity", "ease+cold", "als+cold"],
)
def test_bundle_scores_like_the_model(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = make().fit(interactions())
    users = [0, 7, 29]
    expected = model.recommend(users, k=8)
    bundle = RecsBundle.from_model(model)
    bundle.to_bundle(tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    got = loaded.recommend(users, k=8)
    pd.testing.assert_series_equal(got["user_id"], expected["user_id"], check_dtype=False)
    np.testing.assert_allclose(got["score"].to_numpy(), expected["score"].to_numpy(), rtol=1e-5, atol=1e-6)
    # tied scores may come in another order; every item scored above the last kept score must match
    for u in users:
        g, e = got.loc[got.user_id == u], expected.loc[expected.user_id == u]
        floor = e["score"].min()
        assert set(g.loc[g.score > floor + 1e-6, "item_id"]) == set(e.loc[e.score > floor + 1e-6, "item_id"])


def test_bundle_loads_in_a_fresh_process(tmp_path: Path) -> None:
    model = ColdStartRecommender(EASE(l2=5.0), embeddings()).fit(interactions())
    RecsBundle.from_model(model).to_bundle(tmp_path)
    expected = model.recommend([3], k=5)["item_id"].tolist()
    code = (
        "import sys; from cartwise.models.recs.bundle import load_bundle; "
        f"b = load_bundle({str(tmp_path)!r}); print(list(map(int, b.recommend_one(3, 5)[0]))); "
        "print(any(m.split('.')[0] in ('implicit', 'torch') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    items, heavy = out.stdout.strip().splitlines()
    assert items == str(expected)
    assert heavy == "False"  # scoring a bundle needs neither the training library nor the text model


def test_bad_bundle_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a recommendation bundle"):
        load_bundle(tmp_path)
