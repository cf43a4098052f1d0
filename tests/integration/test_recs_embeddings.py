"""The bundled text model loads and encodes with no network; search finds the obvious product first.

The model is loaded once per session, inside a guard that makes every
non-loopback socket connection fail, with the Hugging Face hub switched off.
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cartwise.models.recs import EASE, ColdStartRecommender, SemanticSearch, embed_products, load_text_encoder
from cartwise.models.recs.embeddings import EMBEDDING_DIM, TextEncoder, embed_texts

pytestmark = pytest.mark.slow


class NetworkUsedError(AssertionError):
    pass


def _guarded_connect(original: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            return original(self, address)
        raise NetworkUsedError(f"network connection attempted to {address!r}")

    return connect


@pytest.fixture(scope="session")
def offline_encoder() -> TextEncoder:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", _guarded_connect(socket.socket.connect))
        mp.setattr(
            socket,
            "getaddrinfo",
            lambda *a, **k: (_ for _ in ()).throw(NetworkUsedError(f"DNS lookup {a[:2]}")),
        )
        encoder = load_text_encoder(cached=False)
        vectors = embed_texts(["warm-up sentence"], encoder)  # encoding also runs under the guard
    assert vectors.shape == (1, EMBEDDING_DIM)
    return encoder


CATALOGUE = pd.DataFrame(
    {
        "product_id": [1, 2, 3, 4, 5, 6],
        "title": [
            "Trail running shoes",
            "Stainless steel espresso machine",
            "Wireless noise-cancelling headphones",
            "Organic cotton baby blanket",
            "Cordless power drill 18V",
            "Leather hiking boots",
        ],
        "description": [
            "Lightweight shoes with a grippy sole for running on trails.",
            "Brews espresso and cappuccino at home, 15 bar pump.",
            "Over-ear bluetooth headphones that block outside noise.",
            "Soft blanket for newborns made of organic cotton.",
            "Drill and driver with two batteries for DIY projects.",
            "Waterproof boots for hiking in the mountains.",
        ],
        "category": ["sport", "kitchen", "electronics", "baby", "tools", "sport"],
    }
)


def test_embeddings_are_unit_norm_float32(offline_encoder: TextEncoder) -> None:
    emb = embed_products(CATALOGUE, offline_encoder)
    assert emb.vectors.dtype == np.float32
    assert emb.vectors.shape == (6, EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("coffee maker", 2),
        ("headset for music", 3),
        ("something warm for an infant", 4),
        ("screwdriver tool", 5),
    ],
)
def test_search_returns_the_obvious_product_first(
    offline_encoder: TextEncoder, query: str, expected: int
) -> None:
    search = SemanticSearch(embed_products(CATALOGUE, offline_encoder), offline_encoder)
    hits = search.search(query, k=3)
    assert hits["item_id"].iloc[0] == expected
    assert hits["score"].is_monotonic_decreasing


def test_a_new_product_is_recommended_through_its_text_neighbours(offline_encoder: TextEncoder) -> None:
    catalogue = pd.concat(
        [
            CATALOGUE,
            pd.DataFrame(
                {
                    "product_id": [7],
                    "title": ["Mountain trekking boots"],
                    "description": ["Sturdy waterproof boots for long hikes."],
                    "category": ["sport"],
                }
            ),
        ],
        ignore_index=True,
    )
    # shoppers 0-9 buy sport items, 10-19 kitchen/electronics/tools
    rows = [(u, i) for u in range(10) for i in (1, 6)] + [(u, i) for u in range(10, 20) for i in (2, 3, 5)]
    rows += [(0, 4), (11, 4)]
    model = ColdStartRecommender(EASE(l2=1.0), embed_products(catalogue, offline_encoder), neighbours=2)
    model.fit(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    recs = model.recommend([3], k=2)
    assert 7 in recs["item_id"].tolist()
