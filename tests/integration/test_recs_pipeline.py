"""The recs trainer registers a bundle with product text embeddings, from a cache that skips unchanged products.

The text model is the real bundled one, loaded once per session (about 10 s).
The pipeline test simulates a small marketplace into a real DuckDB file, trains
through the lifecycle into a real MLflow registry (SQLite), and loads the
registered bundle in a fresh Python process the way the service does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cartwise.config import Settings, load_settings
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.models.recs import load_text_encoder
from cartwise.models.recs.bundle import load_bundle
from cartwise.models.recs.embedding_cache import EmbeddingCache
from cartwise.models.recs.embeddings import EMBEDDING_DIM, TextEncoder, embed_texts, product_text
from cartwise.pipelines.base import TrainContext
from cartwise.pipelines.lifecycle import TrainOutcome, train_model
from cartwise.pipelines.recs import RecsTrainer
from cartwise.registry.registry import ModelRegistry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def encoder() -> TextEncoder:
    # The process-wide cached encoder: the trainer picks up the same instance.
    return load_text_encoder()


class CountingEncoder:
    """Records every sentence it is asked to encode, then delegates to the real encoder."""

    def __init__(self, inner: TextEncoder) -> None:
        self.inner = inner
        self.seen: list[str] = []

    def encode(self, sentences: Sequence[str], **kwargs: Any) -> Any:
        self.seen.extend(sentences)
        return self.inner.encode(sentences, **kwargs)


CATALOGUE = pd.DataFrame(
    {
        "product_id": [1, 2, 3, 4],
        "title": ["Trail running shoes", "Espresso machine", "Noise-cancelling headphones", "Baby blanket"],
        "description": ["Grippy sole.", "15 bar pump.", "Over-ear, bluetooth.", "Organic cotton."],
        "category": ["sport", "kitchen", "electronics", "baby"],
    }
)


def test_cache_embeds_only_new_or_changed_products(encoder: TextEncoder, tmp_path: Path) -> None:
    counting = CountingEncoder(encoder)
    first = EmbeddingCache(tmp_path, encoder=counting).embed(CATALOGUE)
    assert (first.embedded, first.reused) == (4, 0)
    assert first.embeddings.vectors.shape == (4, EMBEDDING_DIM)
    assert first.embeddings.vectors.dtype == np.float32
    np.testing.assert_allclose(
        first.embeddings.vectors, embed_texts(product_text(CATALOGUE), encoder), atol=1e-6
    )

    changed = CATALOGUE.copy()
    changed.loc[changed["product_id"] == 4, "title"] = "Wool baby blanket"
    changed = pd.concat(
        [
            changed,
            pd.DataFrame(
                {
                    "product_id": [5],
                    "title": ["Cordless drill"],
                    "description": ["18V."],
                    "category": ["tools"],
                }
            ),
        ],
        ignore_index=True,
    )
    counting.seen.clear()
    second = EmbeddingCache(tmp_path, encoder=counting).embed(changed)
    assert (second.embedded, second.reused) == (2, 3)
    assert counting.seen == product_text(changed.iloc[[3, 4]])
    # unchanged products keep their stored vectors; the changed one gets a new vector
    np.testing.assert_array_equal(second.embeddings.vectors[:3], first.embeddings.vectors[:3])
    assert float(second.embeddings.vectors[3] @ first.embeddings.vectors[3]) < 0.999

    counting.seen.clear()
    third = EmbeddingCache(tmp_path, encoder=counting).embed(changed)
    assert (third.embedded, third.reused) == (0, 5)
    assert counting.seen == []
    np.testing.assert_array_equal(third.embeddings.vectors, second.embeddings.vectors)
    # one generation on disk, no temporary files left behind
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["entries"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["manifest.json", *(f"{n}-{manifest['generation']}.npy" for n in ("ids", "keys", "vectors"))]
    )


def test_unreadable_cache_is_rebuilt(encoder: TextEncoder, tmp_path: Path) -> None:
    EmbeddingCache(tmp_path, encoder=encoder).embed(CATALOGUE)
    generation = json.loads((tmp_path / "manifest.json").read_text())["generation"]
    (tmp_path / f"vectors-{generation}.npy").write_bytes(b"not an array")
    again = EmbeddingCache(tmp_path, encoder=encoder).embed(CATALOGUE)
    assert (again.embedded, again.reused) == (4, 0)
    assert (EmbeddingCache(tmp_path, encoder=encoder).embed(CATALOGUE).reused) == 4


# -- the trainer through the lifecycle -------------------------------------------------

TWIN_ID = 10_000_001  # a product added after the simulation: nobody has interacted with it


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, encoder: TextEncoder
) -> tuple[Settings, ModelRegistry, TrainOutcome, TrainOutcome, pd.DataFrame]:
    from cartwise.data.simulator import SimulationConfig, simulate

    tmp = tmp_path_factory.mktemp("recs-pipeline")
    tables = simulate(SimulationConfig(customers=1500, days=90, seed=5, products=300, merchants=30))
    products = tables["products"].to_pandas()
    twin = products.iloc[[0]].copy()
    twin["product_id"] = TWIN_ID
    tables["products"] = pa.concat_tables(
        [
            tables["products"],
            pa.Table.from_pandas(twin, schema=tables["products"].schema, preserve_index=False),
        ]
    )
    warehouse = tmp / "warehouse.duckdb"
    with DuckDBWarehouse(warehouse) as w:
        w.write_tables(tables)
    settings = load_settings(
        data_dir=tmp / "data", overrides={"warehouse": {"path": str(warehouse)}, "seed": 5}
    )
    registry = ModelRegistry.from_settings(settings)
    outcomes = []
    for _ in range(2):
        with DuckDBWarehouse(warehouse) as w:
            context = TrainContext(settings=settings, warehouse=w, seed=5)
            outcomes.append(train_model(RecsTrainer(max_eval_users=300), context, registry))
    return settings, registry, outcomes[0], outcomes[1], tables["products"].to_pandas()


def test_registered_bundle_holds_every_products_embedding(
    trained: tuple[Settings, ModelRegistry, TrainOutcome, TrainOutcome, pd.DataFrame],
) -> None:
    _, registry, first, _, products = trained
    bundle = load_bundle(registry.download_bundle("recs", first.version))
    assert bundle.embeddings is not None
    assert bundle.embeddings.shape == (len(products), EMBEDDING_DIM)
    assert set(bundle.item_ids.tolist()) == set(products["product_id"].tolist())
    # the never-seen twin is a cold product, served through its text neighbour: the original
    twin_row = int(np.flatnonzero(bundle.item_ids == TWIN_ID)[0])
    assert twin_row >= bundle.n_trained
    assert bundle.cold_weights is not None
    weights = bundle.cold_weights[twin_row - bundle.n_trained].toarray().ravel()
    original = products["product_id"].iloc[0]
    if original in bundle.item_ids[: bundle.n_trained]:
        assert bundle.item_ids[int(np.argmax(weights))] == original


def test_second_run_reuses_every_embedding_and_logs_the_counts(
    trained: tuple[Settings, ModelRegistry, TrainOutcome, TrainOutcome, pd.DataFrame],
) -> None:
    _, registry, first, second, products = trained
    params = [registry.client.get_run(o.run_id).data.params for o in (first, second)]
    distinct_texts = len(set(product_text(products)))  # the twin shares its original's text
    assert params[0]["embeddings_embedded"] == str(distinct_texts)
    assert params[0]["embeddings_reused"] == "0"
    assert params[1]["embeddings_embedded"] == "0"
    assert params[1]["embeddings_reused"] == str(len(products))
    assert second.metrics == first.metrics


_SERVICE_LOAD = """
import json, sys
from pathlib import Path
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.serving.adapters import load_model_dir

def products():
    with DuckDBWarehouse(sys.argv[2]) as w:
        return w.read_table("products")

recommender = load_model_dir("recs", Path(sys.argv[1]), products=products)
hits = recommender.search(sys.argv[3], 3)
top = recommender.recommend(int(sys.argv[4]), 5)
print(json.dumps({"search": [h.title for h in hits], "recommend": [h.product_id for h in top]}))
"""


def test_bundle_answers_search_in_a_fresh_process_like_the_service(
    trained: tuple[Settings, ModelRegistry, TrainOutcome, TrainOutcome, pd.DataFrame],
) -> None:
    settings, registry, first, _, products = trained
    bundle_dir = registry.download_bundle("recs", first.version)
    shopper = int(load_bundle(bundle_dir).user_ids[0])
    query = str(products["title"].iloc[len(products) // 2])
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _SERVICE_LOAD,
            str(bundle_dir),
            str(settings.warehouse_path),
            query,
            str(shopper),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["search"][0] == query
    assert len(answer["recommend"]) == 5
