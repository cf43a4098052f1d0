"""Affordability-aware re-ranking: do not push what the shopper cannot be approved for.

The credit side says, per shopper, how much pay-later credit is still
available and which installment plans it would approve up to which order
amount. An item is *approvable* when its price is at most the approvable
amount: ``min(available limit, the largest plan maximum)`` (just the limit
when no plan is given). Two modes:

* ``strict`` drops every item above the approvable amount, then refills the
  list from the candidates below it: no recommended item is above the limit.
* ``soft`` keeps them but lowers their score by ``penalty × spread ×
  overshoot``, where ``spread`` is the shopper's candidate-score range and
  ``overshoot = price / approvable - 1``: an item twice what they can borrow
  falls by a whole score range.

:func:`declined_share` measures the effect: the share of recommended items
that would be declined, before and after re-ranking.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartwise.errors import SchemaError

__all__ = ["Affordability", "AffordabilityReranker", "PlanOption", "declined_share"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanOption:
    """An installment plan the credit side would approve, up to ``max_amount_minor``."""

    plan_type: str
    n_installments: int
    max_amount_minor: int


@dataclass(frozen=True)
class Affordability:
    """A shopper's available pay-later limit and approvable plans, in minor units."""

    available_limit_minor: int
    plans: tuple[PlanOption, ...] = ()

    @property
    def approvable_amount_minor(self) -> int:
        if self.available_limit_minor < 0:
            raise ValueError(f"available_limit_minor must be >= 0, got {self.available_limit_minor}")
        if not self.plans:
            return self.available_limit_minor
        return min(self.available_limit_minor, max(p.max_amount_minor for p in self.plans))


def _approvable(recs: pd.DataFrame, shoppers: Mapping[Any, Affordability]) -> np.ndarray:
    users = recs["user_id"].unique()
    missing = [u for u in users if u not in shoppers]
    if missing:
        raise ValueError(
            f"no affordability for shopper(s) {missing[:5]}; pass an Affordability for every recommended shopper"
        )
    limits = {u: shoppers[u].approvable_amount_minor for u in users}
    return recs["user_id"].map(limits).to_numpy(dtype=np.float64)


def _prices(recs: pd.DataFrame, prices: Mapping[Any, int] | pd.Series) -> np.ndarray:
    series = prices if isinstance(prices, pd.Series) else pd.Series(dict(prices))
    out = recs["item_id"].map(series)
    if out.isna().any():
        bad = recs.loc[out.isna(), "item_id"].unique()[:5].tolist()
        raise SchemaError(f"no price_minor for item(s) {bad}; pass prices for the whole catalogue")
    return out.to_numpy(dtype=np.float64)


def declined_share(
    recs: pd.DataFrame, prices: Mapping[Any, int] | pd.Series, shoppers: Mapping[Any, Affordability]
) -> float:
    """Share of recommended rows whose price is above what the shopper could be approved for."""
    if recs.empty:
        return 0.0
    return float(np.mean(_prices(recs, prices) > _approvable(recs, shoppers)))


class AffordabilityReranker:
    """Re-rank candidate lists (``user_id, item_id, score[, rank]``) to each shopper's top ``k``."""

    def __init__(self, mode: str = "strict", *, penalty: float = 1.0) -> None:
        self.mode = mode
        self.penalty = penalty

    def rerank(
        self,
        candidates: pd.DataFrame,
        prices: Mapping[Any, int] | pd.Series,
        shoppers: Mapping[Any, Affordability],
        k: int = 10,
    ) -> pd.DataFrame:
        """Each shopper's best ``k`` after the affordability rule, with ``price_minor`` and ``approvable``.

        Pass more candidates than ``k`` (e.g. the top 100) so strict mode can refill.
        """
        if self.mode not in ("strict", "soft"):
            raise ValueError(f"mode must be 'strict' or 'soft', got {self.mode!r}")
        if self.penalty < 0:
            raise ValueError(f"penalty must be >= 0, got {self.penalty}")
        for c in ("user_id", "item_id", "score"):
            if c not in candidates.columns:
                raise SchemaError(f"candidates lack column {c!r}; pass a recommend() frame")
        frame = candidates[["user_id", "item_id", "score"]].copy()
        price = _prices(frame, prices)
        limit = _approvable(frame, shoppers)
        frame["price_minor"] = price.astype(np.int64)
        frame["approvable"] = price <= limit
        if self.mode == "strict":
            frame = frame.loc[frame["approvable"]]
        else:
            grouped = frame.groupby("user_id")["score"]
            spread = (grouped.transform("max") - grouped.transform("min")).to_numpy()
            spread = np.where(spread > 0, spread, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                overshoot = np.where(price <= limit, 0.0, np.where(limit > 0, price / limit - 1.0, np.inf))
            frame["score"] = frame["score"].to_numpy() - self.penalty * spread * overshoot
        frame = frame.sort_values(["user_id", "score"], ascending=[True, False], kind="stable")
        frame = frame.groupby("user_id", sort=False).head(k).reset_index(drop=True)
        frame["rank"] = frame.groupby("user_id", sort=False).cumcount().to_numpy() + 1
        return frame
