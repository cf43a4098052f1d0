"""Ranking metrics with Microsoft Recommenders' definitions, reproduced exactly.

The published MovieLens table (BiVAE, BPR, SAR, ...) is computed with
``recommenders.evaluation.python_evaluation``; to compare with it the formulas
and their edge cases must match, not just the names:

* ``rating_true`` holds every relevant (user, item) pair; ``rating_pred`` holds
  scored candidates. Each user's predictions are sorted by score, highest first,
  ties kept in input order, and cut at ``k``; ``rank`` runs 1..k.
* precision@k, recall@k and MAP average over the users present in **both**
  frames. precision@k divides hits by ``k`` (not by the list length); recall@k
  divides by the user's number of relevant items.
* MAP is the mean of ``sum_j (j / rank_j) / n_relevant_u`` over hits ``j``: it is
  normalised by **all** of the user's relevant items, not by ``min(n, k)``
  (that variant is :func:`map_at_k`).
* nDCG@k is binary with a natural-log discount ``1 / ln(1 + rank)``; the ideal
  DCG sums the first ``min(n_relevant_u, k)`` discounts; it averages over every
  user in ``rating_true`` (a user with no prediction scores 0).
* Catalogue coverage is the number of distinct recommended items over the
  number of distinct items in the training data.

Every metric returns 0.0 when no prediction hits.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from cartwise.errors import SchemaError

__all__ = [
    "RankingMetrics",
    "catalog_coverage",
    "evaluate_ranking",
    "map_at_k",
    "map_score",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "top_k_items",
]

logger = logging.getLogger(__name__)

USER, ITEM, SCORE = "user_id", "item_id", "score"


@dataclass(frozen=True)
class RankingMetrics:
    """The metrics the benchmarks report, for one model on one split."""

    map: float
    ndcg_at_k: float
    precision_at_k: float
    recall_at_k: float
    coverage: float
    k: int
    n_users: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _check(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{name} lacks column(s) {missing}; it has {list(frame.columns)}. "
            f"Pass a frame with columns {list(columns)}."
        )


def top_k_items(rating_pred: pd.DataFrame, k: int, *, user: str = USER, score: str = SCORE) -> pd.DataFrame:
    """Each user's ``k`` highest-scored rows with a 1-based ``rank``; ties keep input order."""
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    ordered = rating_pred.sort_values([user, score], ascending=[True, False], kind="stable")
    top = ordered.groupby(user, sort=False).head(k).reset_index(drop=True)
    top["rank"] = top.groupby(user, sort=False).cumcount().to_numpy() + 1
    return top


@dataclass(frozen=True)
class _Hits:
    hits: pd.DataFrame  # user, item, rank of each hit, sorted by user then rank
    per_user: pd.DataFrame  # user, hit, actual for users with at least one hit
    n_users: int  # users present in both frames


def _hits(
    rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int, user: str, item: str, score: str
) -> _Hits:
    _check(rating_true, "rating_true", (user, item))
    _check(rating_pred, "rating_pred", (user, item, score))
    common = pd.Index(rating_true[user].unique()).intersection(pd.Index(rating_pred[user].unique()))
    true_c = rating_true.loc[rating_true[user].isin(common), [user, item]]
    pred_c = rating_pred.loc[rating_pred[user].isin(common), [user, item, score]]
    top = top_k_items(pred_c, k, user=user, score=score)
    hits = top.merge(true_c, on=[user, item])[[user, item, "rank"]]
    hits = hits.sort_values([user, "rank"], kind="stable").reset_index(drop=True)
    hit_count = hits.groupby(user).size().rename("hit")
    actual = true_c.groupby(user).size().rename("actual")
    per_user = pd.concat([hit_count, actual], axis=1, join="inner").reset_index()
    return _Hits(hits, per_user, len(common))


def precision_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    k: int = 10,
    *,
    user: str = USER,
    item: str = ITEM,
    score: str = SCORE,
) -> float:
    """Hits in the top ``k`` divided by ``k``, averaged over users in both frames."""
    h = _hits(rating_true, rating_pred, k, user, item, score)
    if h.hits.empty:
        return 0.0
    return float((h.per_user["hit"] / k).sum() / h.n_users)


def recall_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    k: int = 10,
    *,
    user: str = USER,
    item: str = ITEM,
    score: str = SCORE,
) -> float:
    """Hits in the top ``k`` over the user's relevant items, averaged over users in both frames."""
    h = _hits(rating_true, rating_pred, k, user, item, score)
    if h.hits.empty:
        return 0.0
    return float((h.per_user["hit"] / h.per_user["actual"]).sum() / h.n_users)


def _reciprocal_sums(h: _Hits, user: str) -> pd.DataFrame:
    hits = h.hits.copy()
    hits["rr"] = (hits.groupby(user).cumcount().to_numpy() + 1) / hits["rank"].to_numpy()
    rr = hits.groupby(user)["rr"].sum().reset_index()
    return rr.merge(h.per_user, on=user)


def map_score(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    k: int = 10,
    *,
    user: str = USER,
    item: str = ITEM,
    score: str = SCORE,
) -> float:
    """Mean average precision normalised by each user's number of relevant items (their ``map``)."""
    h = _hits(rating_true, rating_pred, k, user, item, score)
    if h.hits.empty:
        return 0.0
    merged = _reciprocal_sums(h, user)
    return float((merged["rr"] / merged["actual"]).sum() / h.n_users)


def map_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    k: int = 10,
    *,
    user: str = USER,
    item: str = ITEM,
    score: str = SCORE,
) -> float:
    """Mean average precision normalised by ``min(n_relevant, k)`` (their ``map_at_k``)."""
    h = _hits(rating_true, rating_pred, k, user, item, score)
    if h.hits.empty:
        return 0.0
    merged = _reciprocal_sums(h, user)
    return float((merged["rr"] / np.minimum(merged["actual"], k)).sum() / h.n_users)


def ndcg_at_k(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    k: int = 10,
    *,
    user: str = USER,
    item: str = ITEM,
    score: str = SCORE,
) -> float:
    """Binary nDCG@k, natural-log discount, averaged over every user in ``rating_true``."""
    h = _hits(rating_true, rating_pred, k, user, item, score)
    if h.hits.empty:
        return 0.0
    dcg_rows = 1.0 / np.log1p(h.hits["rank"].to_numpy(dtype=np.float64))
    dcg = pd.Series(dcg_rows, index=h.hits[user].to_numpy()).groupby(level=0).sum()
    n_true = rating_true.groupby(user).size()
    discounts = np.cumsum(1.0 / np.log1p(np.arange(1, k + 1, dtype=np.float64)))
    idcg = pd.Series(discounts[np.minimum(n_true.to_numpy(), k) - 1], index=n_true.index)
    per_user = dcg.reindex(idcg.index, fill_value=0.0) / idcg
    return float(per_user.mean())


def catalog_coverage(train: pd.DataFrame, rating_pred: pd.DataFrame, *, item: str = ITEM) -> float:
    """Distinct recommended items over distinct items in the training data."""
    _check(train, "train", (item,))
    _check(rating_pred, "rating_pred", (item,))
    n_train = train[item].nunique()
    if n_train == 0:
        raise ValueError("train holds no item: coverage is undefined; pass the training interactions")
    return float(rating_pred[item].nunique() / n_train)


def evaluate_ranking(
    rating_true: pd.DataFrame,
    rating_pred: pd.DataFrame,
    train: pd.DataFrame,
    k: int = 10,
    *,
    user: str = USER,
    item: str = ITEM,
    score: str = SCORE,
) -> RankingMetrics:
    """MAP, nDCG@k, precision@k, recall@k and catalogue coverage of the top ``k`` in one call."""
    top = top_k_items(rating_pred, k, user=user, score=score)
    common = np.intersect1d(rating_true[user].unique(), top[user].unique())
    return RankingMetrics(
        map=map_score(rating_true, top, k, user=user, item=item, score=score),
        ndcg_at_k=ndcg_at_k(rating_true, top, k, user=user, item=item, score=score),
        precision_at_k=precision_at_k(rating_true, top, k, user=user, item=item, score=score),
        recall_at_k=recall_at_k(rating_true, top, k, user=user, item=item, score=score),
        coverage=catalog_coverage(train, top, item=item),
        k=k,
        n_users=len(common),
    )
