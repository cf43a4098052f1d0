"""Recommendations on the lifecycle contract: marketplace events → EASE/ALS bundle, gated on nDCG@10.

- Interactions: the warehouse ``events`` (views, add-to-cart, purchases) before the
  cut-off, weighted and time-decayed (:func:`cartwise.models.recs.interactions.implicit_feedback`).
- Out-of-time holdout: the last ``holdout_days`` of the window; relevant items are
  what each already-known shopper added to a cart or bought then (items they had
  already interacted with before the cut-off are removed from the truth, since
  recommendations remove seen items).
- Model: :func:`cartwise.models.recs.choose_recommender` (EASE up to 10k items, ALS above),
  wrapped in :class:`cartwise.models.recs.ColdStartRecommender`: every product of the
  ``products`` table is embedded from its text (title, category, description) with the
  bundled all-MiniLM-L6-v2 model, products nobody interacted with are scored through
  their text neighbours, and the vectors go into the bundle so the service can search.
- Embedding cache: ``<data_dir>/embeddings/<model-name>/`` keyed by a hash of each
  product's text (:class:`cartwise.models.recs.embedding_cache.EmbeddingCache`), so a
  run embeds only new or changed products; the counts are logged as the run's params
  ``embeddings_embedded`` and ``embeddings_reused``.
- Primary metric: nDCG@10 (Microsoft Recommenders' definition); no calibration gate
  (scores are not probabilities).
- Extra gate, a floor that holds even for a first version with no champion to beat:
  baseline (holdout nDCG@10 ≥ that of :class:`cartwise.models.recs.Popularity` fitted on
  the same interactions and scored on the same holdout, plus ``min_gain_over_popularity``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cartwise.config import Settings
from cartwise.errors import TrainingDataError
from cartwise.pipelines.base import Evaluation, TrainContext, TrainingData, require_rows
from cartwise.pipelines.spines import read_table_checked, window_end
from cartwise.registry.gates import GateResult
from cartwise.registry.schema import InputSchema

if TYPE_CHECKING:
    from cartwise.models.recs.metrics import RankingMetrics

__all__ = ["RecsTrainer", "make_trainer"]

logger = logging.getLogger(__name__)


@dataclass
class RecsTrainer:
    """Adapter from :mod:`cartwise.models.recs` to the lifecycle."""

    holdout_days: int = 14
    half_life_days: float = 30.0
    k: int = 10
    max_eval_users: int = 5000
    min_gain_over_popularity: float = 0.0
    """How much the holdout nDCG must exceed the most-popular baseline's (absolute; ties pass at 0)."""
    name: str = "recs"
    kind: Literal["classifier", "recommender"] = "recommender"
    primary_metric: str = "ndcg_at_10"
    higher_is_better: bool = True
    calibration_metric: str | None = None
    loader: str = "cartwise.models.recs.bundle:load_bundle"
    neighbours: int = 10
    embedding_cache_dir: Path | None = None
    """Where the embedding cache lives; ``<data_dir>/embeddings/<model-name>`` when None."""
    embedding_counts_: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def params(self) -> Mapping[str, Any]:
        from cartwise.models.recs.embeddings import EMBEDDING_MODEL

        # The counts are known after fit; the lifecycle reads params after fitting.
        return {
            "holdout_days": self.holdout_days,
            "half_life_days": self.half_life_days,
            "k": self.k,
            "max_eval_users": self.max_eval_users,
            "min_gain_over_popularity": self.min_gain_over_popularity,
            "neighbours": self.neighbours,
            "embedding_model": EMBEDDING_MODEL,
            **{f"embeddings_{name}": count for name, count in self.embedding_counts_.items()},
        }

    def _products(self, context: TrainContext) -> pd.DataFrame:
        table = read_table_checked(
            context.warehouse, "products", ["product_id", "title", "description", "category"]
        )
        products = table.select(["product_id", "title", "description", "category"]).to_pandas()
        if products.empty:
            raise TrainingDataError(
                "the products table is empty; recommendations embed every product's text, "
                "so load the catalogue with `cartwise ingest products FILE`"
            )
        latest: pd.DataFrame = products.drop_duplicates("product_id", keep="last")
        return latest.sort_values("product_id", kind="stable").reset_index(drop=True)

    def build_data(self, context: TrainContext) -> TrainingData:
        from cartwise.features.catalog import RECS_FEATURES
        from cartwise.models.recs.interactions import implicit_feedback

        table = read_table_checked(
            context.warehouse, "events", ["customer_id", "product_id", "event_type", "event_at"]
        )
        events = table.to_pandas()
        events["event_at"] = pd.to_datetime(events["event_at"], utc=True)
        if context.start is not None:
            events = events[events["event_at"] >= context.start]
        if context.end is not None:
            events = events[events["event_at"] < context.end]
        require_rows(events, "events", context.start, context.end)
        as_of = window_end(table, "event_at", context.end)
        cutoff = as_of - timedelta(days=self.holdout_days)
        before = events[events["event_at"] < cutoff]
        after = events[
            (events["event_at"] >= cutoff) & events["event_type"].isin(["add_to_cart", "purchase"])
        ]
        if before.empty or after.empty:
            raise TrainingDataError(
                f"the recs split at {cutoff:%Y-%m-%d} leaves {len(before)} training events and {len(after)} "
                "holdout carts/purchases; use a longer history or a wider --start/--end window"
            )
        train = implicit_feedback(before, half_life_days=self.half_life_days, as_of=cutoff)
        seen = pd.MultiIndex.from_frame(train[["user_id", "item_id"]])
        truth = (
            after.rename(columns={"customer_id": "user_id", "product_id": "item_id"})[
                ["user_id", "item_id", "event_at"]
            ]
            .groupby(["user_id", "item_id"], as_index=False, sort=True)
            .agg(event_at=("event_at", "min"))
        )
        known_users = truth["user_id"].isin(train["user_id"].unique())
        known_items = truth["item_id"].isin(train["item_id"].unique())
        new_pair = ~pd.MultiIndex.from_frame(truth[["user_id", "item_id"]]).isin(seen)
        truth = truth[known_users & known_items & new_pair].reset_index(drop=True)
        users = np.sort(truth["user_id"].unique())[: self.max_eval_users]
        truth = truth[truth["user_id"].isin(users)].reset_index(drop=True)
        truth["rating"] = 1.0
        if truth.empty:
            raise TrainingDataError(
                "no known shopper bought or carted a new known product in the recs holdout"
            )
        products = self._products(context)
        unknown = ~train["item_id"].isin(products["product_id"])
        if unknown.any():
            examples = train.loc[unknown, "item_id"].drop_duplicates().head(5).tolist()
            raise TrainingDataError(
                f"events reference {train.loc[unknown, 'item_id'].nunique()} products missing from the "
                f"products table, e.g. {examples}; ingest those products (their text is embedded for "
                "cold start and search) or remove the events"
            )
        cache_dir = self.embedding_cache_dir
        if cache_dir is None:
            from cartwise.models.recs.embeddings import EMBEDDING_MODEL

            cache_dir = context.settings.data_dir / "embeddings" / EMBEDDING_MODEL
        return TrainingData(
            train=train,
            holdout=truth.rename(columns={"event_at": "timestamp"}),
            time_column="timestamp",
            feature_version=RECS_FEATURES.version,
            extra={"products": products, "embedding_cache_dir": Path(cache_dir)},
        )

    def fit(self, data: TrainingData, seed: int) -> Any:
        from cartwise.models.recs import ColdStartRecommender, choose_recommender
        from cartwise.models.recs.embedding_cache import EmbeddingCache

        cached = EmbeddingCache(data.extra["embedding_cache_dir"]).embed(data.extra["products"])
        self.embedding_counts_ = {"embedded": cached.embedded, "reused": cached.reused}
        logger.info(
            "product embeddings: %d embedded, %d reused from the cache", cached.embedded, cached.reused
        )
        base = choose_recommender(int(data.train["item_id"].nunique()), seed=seed, num_threads=2)
        model = ColdStartRecommender(base, cached.embeddings, neighbours=self.neighbours)
        return model.fit(data.train)

    def write_bundle(self, model: Any, directory: Path) -> None:
        from cartwise.models.recs.bundle import RecsBundle

        RecsBundle.from_model(model).to_bundle(directory)

    def _ranking(self, recommender: Any, data: TrainingData) -> RankingMetrics:
        from cartwise.models.recs.metrics import evaluate_ranking

        users = np.sort(data.holdout["user_id"].unique())
        predicted = recommender.recommend(users, self.k, remove_seen=True)
        return evaluate_ranking(data.holdout, predicted, data.train, k=self.k)

    def evaluate(self, scorer: Any, data: TrainingData) -> Evaluation:
        ranking = self._ranking(scorer, data)
        return Evaluation(
            {
                f"ndcg_at_{self.k}": float(ranking.ndcg_at_k),
                "map": float(ranking.map),
                f"precision_at_{self.k}": float(ranking.precision_at_k),
                f"recall_at_{self.k}": float(ranking.recall_at_k),
                "coverage": float(ranking.coverage),
                "eval_users": float(ranking.n_users),
            }
        )

    def input_schema(self, data: TrainingData) -> InputSchema:
        return InputSchema.from_pairs([("user_id", "long")])

    def extra_gates(self, scorer: Any, data: TrainingData) -> Sequence[GateResult]:
        from cartwise.models.recs import Popularity
        from cartwise.registry.gates import gate_result

        ndcg = float(self._ranking(scorer, data).ndcg_at_k)
        popular = float(self._ranking(Popularity().fit(data.train), data).ndcg_at_k)
        return [
            gate_result(
                "baseline",
                ndcg,
                popular + self.min_gain_over_popularity,
                higher_is_better=True,
                what=f"holdout nDCG@{self.k} (most-popular baseline {popular:.4f})",
            )
        ]


def make_trainer(settings: Settings) -> RecsTrainer:
    """The recs trainer with cartwise's defaults."""
    return RecsTrainer()
