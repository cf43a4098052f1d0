"""Merchants and products: categories, fees, prices and shop-like titles and descriptions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cartwise.data.simulator.arrow_columns import timestamps
from cartwise.data.simulator.config import SimulationConfig
from cartwise.data.simulator.sampling import GroupSampler
from cartwise.data.simulator.streams import stream
from cartwise.data.simulator.vocabulary import CATEGORIES, MERCHANT_WORDS
from cartwise.domain.schemas import TABLES

__all__ = ["N_CATEGORIES", "N_TIERS", "Catalogue", "build_catalogue"]

N_CATEGORIES = len(CATEGORIES)
N_TIERS = 3
"""Price tiers within a category: 0 budget, 1 mid, 2 premium (terciles of price)."""

DAY_US = 86_400_000_000

# How much of the catalogue each category holds (electronics and fashion lead, as in most marketplaces).
_CATEGORY_WEIGHTS = np.array([14, 14, 7, 9, 10, 4, 8, 6, 6, 7, 5, 10], dtype=np.float64)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Catalogue:
    """Merchants and products as arrays (index = id - 1), plus samplers over them."""

    merchant_category: IntArray
    merchant_fee_rate: FloatArray
    merchant_created_us: IntArray
    merchant_name: list[str]
    product_merchant: IntArray
    product_category: IntArray
    product_tier: IntArray
    product_price: IntArray
    product_created_us: IntArray
    product_title: list[str]
    product_description: list[str]
    by_category_tier: GroupSampler
    """Products of group ``category * N_TIERS + tier``, weighted by popularity."""
    by_merchant: GroupSampler
    """Products of a merchant, weighted by popularity."""
    group_lookup: IntArray
    """For ``category * N_TIERS + tier``, the nearest non-empty group of that category."""

    @property
    def n_products(self) -> int:
        return len(self.product_price)

    def tables(self, currency: str) -> dict[str, pa.Table]:
        merchants = pa.table(
            {
                "merchant_id": np.arange(1, len(self.merchant_category) + 1, dtype=np.int64),
                "name": self.merchant_name,
                "category": [CATEGORIES[c].name for c in self.merchant_category],
                "fee_rate": self.merchant_fee_rate,
                "created_at": timestamps(self.merchant_created_us),
            }
        )
        products = pa.table(
            {
                "product_id": np.arange(1, self.n_products + 1, dtype=np.int64),
                "merchant_id": self.product_merchant + 1,
                "title": self.product_title,
                "description": self.product_description,
                "category": [CATEGORIES[c].name for c in self.product_category],
                "price_minor": self.product_price,
                "currency": [currency] * self.n_products,
                "created_at": timestamps(self.product_created_us),
            }
        )
        return {
            "merchants": merchants.cast(TABLES["merchants"].schema),
            "products": products.cast(TABLES["products"].schema),
        }


def build_catalogue(config: SimulationConfig, start_us: int) -> Catalogue:
    """Merchants (at least one per category) and their products, all created before the start."""
    rng = stream(config.seed, "catalogue")
    n_m, n_p = config.merchants, config.products

    merchant_category = np.concatenate(
        [
            np.arange(N_CATEGORIES),
            rng.choice(N_CATEGORIES, n_m - N_CATEGORIES, p=_CATEGORY_WEIGHTS / _CATEGORY_WEIGHTS.sum()),
        ]
    ).astype(np.int64)
    rng.shuffle(merchant_category)
    base_fee = np.array([c.fee_rate for c in CATEGORIES])[merchant_category]
    merchant_fee = np.round(np.clip(base_fee + rng.normal(0, 0.006, n_m), 0.015, 0.08), 4).astype(np.float64)
    merchant_created = np.sort(start_us - rng.integers(365 * DAY_US, 4 * 365 * DAY_US, n_m))
    first, last = MERCHANT_WORDS
    merchant_name = [
        f"{first[rng.integers(len(first))]} {CATEGORIES[c].name.title()} {last[rng.integers(len(last))]}"
        for c in merchant_category
    ]
    merchant_size = rng.pareto(1.5, n_m) + 1.0

    # Every merchant gets one product; the rest go by category share and merchant size.
    product_merchant = np.concatenate(
        [np.arange(n_m), _draw_merchants(rng, merchant_category, merchant_size, n_p - n_m)]
    )
    product_merchant = np.sort(product_merchant).astype(np.int64)
    product_category = merchant_category[product_merchant]
    titles: list[str] = []
    descriptions: list[str] = []
    prices = np.empty(n_p, dtype=np.int64)
    kind_u = rng.random(n_p)
    for i, c in enumerate(product_category):
        vocab = CATEGORIES[c]
        kind, typical = vocab.kinds[int(kind_u[i] * len(vocab.kinds))]
        brand = vocab.brands[rng.integers(len(vocab.brands))]
        quality = vocab.qualities[rng.integers(len(vocab.qualities))]
        variant = vocab.variants[rng.integers(len(vocab.variants))]
        use = vocab.uses[rng.integers(len(vocab.uses))]
        price = typical * float(np.exp(rng.normal(0.0, 0.3)))
        prices[i] = max(99, round(price) * 100 - 1)
        titles.append(f"{brand} {quality} {kind}, {variant}")
        if rng.random() < 0.5:
            text = f"{quality} {kind.lower()} from {brand}, made for {use}. Option: {variant}."
        else:
            text = f"A {kind.lower()} for {use}: {quality.lower()}, {variant.lower()}, by {brand}."
        descriptions.append(text + f" Part of our {vocab.name} range; pay in 4 or monthly at checkout.")

    tier = np.zeros(n_p, dtype=np.int64)
    for c in range(N_CATEGORIES):
        members = np.flatnonzero(product_category == c)
        if len(members):
            ranks = np.argsort(np.argsort(prices[members], kind="stable"), kind="stable")
            tier[members] = (ranks * N_TIERS) // len(members)
    popularity = rng.lognormal(0.0, 1.0, n_p)
    groups = product_category * N_TIERS + tier
    counts = np.bincount(groups, minlength=N_CATEGORIES * N_TIERS)
    lookup = np.arange(N_CATEGORIES * N_TIERS, dtype=np.int64)
    for g in np.flatnonzero(counts == 0):
        c = g // N_TIERS
        filled = [c * N_TIERS + t for t in range(N_TIERS) if counts[c * N_TIERS + t] > 0]
        lookup[g] = min(filled, key=lambda h: abs(h - g))
    created = start_us - (rng.random(n_p) * (start_us - merchant_created[product_merchant])).astype(np.int64)
    return Catalogue(
        merchant_category=merchant_category,
        merchant_fee_rate=merchant_fee,
        merchant_created_us=merchant_created.astype(np.int64),
        merchant_name=merchant_name,
        product_merchant=product_merchant,
        product_category=product_category,
        product_tier=tier,
        product_price=prices,
        product_created_us=created,
        product_title=titles,
        product_description=descriptions,
        by_category_tier=GroupSampler(groups, popularity, N_CATEGORIES * N_TIERS),
        by_merchant=GroupSampler(product_merchant, popularity, n_m),
        group_lookup=lookup,
    )


def _draw_merchants(rng: np.random.Generator, category: IntArray, size: FloatArray, n: int) -> IntArray:
    weights = size * (_CATEGORY_WEIGHTS / np.bincount(category, minlength=N_CATEGORIES))[category]
    return rng.choice(len(category), n, p=weights / weights.sum()).astype(np.int64)
