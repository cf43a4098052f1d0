"""Marketplace recommendations: candidates, cold start, affordability, search, evaluation."""

from cartwise.models.recs.affordability import (
    Affordability,
    AffordabilityReranker,
    PlanOption,
    declined_share,
)
from cartwise.models.recs.als import ALS
from cartwise.models.recs.bundle import RecsBundle, load_bundle
from cartwise.models.recs.cold_start import ColdStartRecommender
from cartwise.models.recs.ease import EASE
from cartwise.models.recs.embeddings import ProductEmbeddings, embed_products, load_text_encoder
from cartwise.models.recs.popularity import Popularity
from cartwise.models.recs.search import SemanticSearch

__all__ = [
    "ALS",
    "EASE",
    "Affordability",
    "AffordabilityReranker",
    "ColdStartRecommender",
    "PlanOption",
    "Popularity",
    "ProductEmbeddings",
    "RecsBundle",
    "SemanticSearch",
    "choose_recommender",
    "declined_share",
    "embed_products",
    "load_bundle",
    "load_text_encoder",
]

EASE_MAX_ITEMS = 10_000
"""Above this many items EASE's dense n×n inverse costs minutes and gigabytes: use ALS."""


def choose_recommender(n_items: int, *, seed: int = 42, num_threads: int = 2) -> EASE | ALS:
    """EASE (tuned MovieLens defaults) up to ``EASE_MAX_ITEMS`` items, implicit ALS above."""
    if n_items <= EASE_MAX_ITEMS:
        return EASE(l2=400.0, dropout=0.5)
    return ALS(factors=128, regularization=1.0, alpha=1.0, num_threads=num_threads, seed=seed)
