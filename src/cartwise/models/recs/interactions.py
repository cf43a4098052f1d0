"""Implicit feedback: weighted, time-decayed shopper × product interactions.

Marketplace events (view, add to cart, purchase) and checkouts become one
weight per (shopper, product) pair: each event counts its type's weight,
discounted by ``0.5 ** (age / half_life)`` so last month's purchase matters
more than last year's. :class:`InteractionMatrix` turns those pairs into a
CSR matrix with stable id maps (ids sorted, so the same data always gives the
same positions) that every recommender here trains on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cartwise.errors import SchemaError

__all__ = [
    "DEFAULT_EVENT_WEIGHTS",
    "InteractionMatrix",
    "checkout_purchases",
    "implicit_feedback",
]

logger = logging.getLogger(__name__)

DEFAULT_EVENT_WEIGHTS: Mapping[str, float] = {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
"""A purchase says more than a cart, a cart more than a view."""

USER, ITEM, WEIGHT = "user_id", "item_id", "weight"


def checkout_purchases(checkouts: pd.DataFrame) -> pd.DataFrame:
    """One purchase event per product of each checkout (``customer_id, product_id, event_type, event_at``)."""
    need = ("customer_id", "product_ids", "created_at")
    missing = [c for c in need if c not in checkouts.columns]
    if missing:
        raise SchemaError(f"checkouts lack column(s) {missing}; expected the warehouse 'checkouts' table")
    exploded = checkouts[list(need)].explode("product_ids").dropna(subset=["product_ids"])
    return pd.DataFrame(
        {
            "customer_id": exploded["customer_id"].to_numpy(dtype=np.int64),
            "product_id": exploded["product_ids"].to_numpy(dtype=np.int64),
            "event_type": "purchase",
            "event_at": exploded["created_at"].to_numpy(),
        }
    )


def implicit_feedback(
    events: pd.DataFrame,
    *,
    weights: Mapping[str, float] = DEFAULT_EVENT_WEIGHTS,
    half_life_days: float | None = 30.0,
    as_of: object = None,
) -> pd.DataFrame:
    """Aggregate events into ``user_id, item_id, weight, timestamp`` (one row per pair).

    ``events`` has the warehouse ``events`` columns ``customer_id, product_id,
    event_type, event_at``. ``as_of`` (default: the latest event) is the time
    the decay is measured from; ``half_life_days=None`` turns decay off.
    ``timestamp`` is the pair's latest event.
    """
    need = ("customer_id", "product_id", "event_type", "event_at")
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise SchemaError(f"events lack column(s) {missing}; expected columns {list(need)}")
    unknown = sorted(set(events["event_type"].unique()) - set(weights))
    if unknown:
        raise SchemaError(
            f"events hold event_type(s) {unknown} with no weight; add them to weights={dict(weights)}"
        )
    if half_life_days is not None and half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive or None, got {half_life_days}")
    at = pd.to_datetime(events["event_at"], utc=True)
    base = events["event_type"].map(dict(weights)).to_numpy(dtype=np.float64)
    if half_life_days is not None and len(events):
        ref = at.max() if as_of is None else pd.Timestamp(as_of)  # type: ignore[arg-type]
        if ref.tzinfo is None:
            ref = ref.tz_localize("UTC")
        age_days = ((ref - at).dt.total_seconds() / 86_400.0).clip(lower=0.0).to_numpy()
        base = base * np.power(0.5, age_days / half_life_days)
    frame = pd.DataFrame(
        {
            USER: events["customer_id"].to_numpy(),
            ITEM: events["product_id"].to_numpy(),
            WEIGHT: base,
            "timestamp": at,
        }
    )
    out = frame.groupby([USER, ITEM], as_index=False, sort=True).agg(
        weight=(WEIGHT, "sum"), timestamp=("timestamp", "max")
    )
    return out


@dataclass(frozen=True)
class InteractionMatrix:
    """Users × items CSR matrix (float32) and the ids behind its rows and columns."""

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray

    @classmethod
    def from_frame(
        cls,
        interactions: pd.DataFrame,
        *,
        item_ids: Sequence[object] | np.ndarray | None = None,
        binary: bool = False,
    ) -> InteractionMatrix:
        """Build from ``user_id, item_id[, weight]``; duplicate pairs add up.

        ``item_ids`` fixes the columns (e.g. the whole catalogue, so items with
        no interaction yet still get a column); pairs on other items raise.
        """
        for c in (USER, ITEM):
            if c not in interactions.columns:
                raise SchemaError(
                    f"interactions lack column {c!r}; they have {list(interactions.columns)}. "
                    "Pass a frame with user_id, item_id and optionally weight."
                )
        if interactions.empty:
            raise ValueError("interactions are empty: there is nothing to fit on")
        if interactions[[USER, ITEM]].isna().any().any():
            raise SchemaError("interactions hold null user_id or item_id values; drop those rows first")
        users = np.sort(interactions[USER].unique())
        items = np.sort(interactions[ITEM].unique()) if item_ids is None else np.asarray(item_ids)
        rows = pd.Index(users).get_indexer(interactions[USER])
        cols = pd.Index(items).get_indexer(interactions[ITEM])
        if (cols < 0).any():
            bad = interactions.loc[cols < 0, ITEM].unique()[:5].tolist()
            raise SchemaError(
                f"interactions name items outside item_ids, e.g. {bad}; add them to the catalogue"
            )
        if binary or WEIGHT not in interactions.columns:
            values = np.ones(len(interactions), dtype=np.float32)
        else:
            values = interactions[WEIGHT].to_numpy(dtype=np.float32)
            if not np.isfinite(values).all() or (values < 0).any():
                raise SchemaError("interaction weights must be finite and non-negative")
        matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(users), len(items)), dtype=np.float32)
        matrix.sum_duplicates()
        if binary:
            matrix.data[:] = 1.0
        return cls(matrix, users, items)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.user_ids), len(self.item_ids))

    def user_positions(self, user_ids: Sequence[object] | np.ndarray) -> np.ndarray:
        """Row of each user id, -1 for users not in the matrix."""
        return np.asarray(pd.Index(self.user_ids).get_indexer(np.asarray(user_ids)), dtype=np.int64)

    def item_positions(self, item_ids: Sequence[object] | np.ndarray) -> np.ndarray:
        """Column of each item id, -1 for items not in the matrix."""
        return np.asarray(pd.Index(self.item_ids).get_indexer(np.asarray(item_ids)), dtype=np.int64)
