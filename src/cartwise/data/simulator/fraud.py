"""Fraud by mechanism. Each attacker behaves in a way a model can learn and a monitor can see:

- account takeover: an established account suddenly used from a new device, IP and place,
  shipping somewhere new, with a burst of expensive orders within hours;
- card testing: one device and one stolen instrument place many tiny orders minutes apart,
  at night, from a fresh account, then one larger order;
- fraud rings: several young accounts share devices, IPs and drop addresses and place
  mid-to-high orders over a few days;
- compromised merchant: during a window, a large share of one merchant's orders come from
  stolen accounts through a handful of devices and drop addresses.

The synthetic-identity pattern that starts with the drift lives in :mod:`.drift`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cartwise.data.simulator.browsing import time_of_day_us
from cartwise.data.simulator.catalogue import N_TIERS, Catalogue
from cartwise.data.simulator.identity import CELLS_PER_REGION, CodeAllocator
from cartwise.data.simulator.orders import Events, Orders, concat_orders, empty_orders, order_sessions
from cartwise.data.simulator.population import Customers, SegmentMix, draw_customers
from cartwise.domain.schemas import FRAUD_TYPES

__all__ = [
    "FRAUD_CODE",
    "FraudBatch",
    "account_takeover",
    "card_testing",
    "compromised_merchant",
    "fraud_orders",
    "fraud_ring",
    "pick_products",
]

IntArray = npt.NDArray[np.int64]

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
SECOND_US = 1_000_000

FRAUD_CODE = {name: i + 1 for i, name in enumerate(FRAUD_TYPES)}
"""The ``Orders.fraud`` code of each mechanism (0 is a genuine order)."""

# Category codes (CATEGORIES order) fraudsters go for: easy to resell.
ELECTRONICS, BEAUTY, BOOKS, GROCERY, JEWELRY, GAMING, FURNITURE, FASHION = 0, 3, 8, 9, 10, 11, 5, 1
RESALE_CATEGORIES = np.array([ELECTRONICS, JEWELRY, GAMING])
CHEAP_CATEGORIES = np.array([GROCERY, BEAUTY, BOOKS])
RING_CATEGORIES = np.array([ELECTRONICS, JEWELRY, GAMING, FURNITURE, FASHION])
_NIGHT = np.array([6, 7, 7, 6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5], dtype=np.float64)
_FRAUDSTER_MIX = SegmentMix((0.05, 0.45, 0.0, 0.5))


@dataclass(frozen=True)
class FraudBatch:
    """What one mechanism adds: orders, the sessions before them, and any accounts it created."""

    orders: Orders
    events: Events
    accounts: Customers | None = None


def pick_products(
    catalogue: Catalogue, rng: np.random.Generator, categories: IntArray, tiers: IntArray
) -> IntArray:
    """One product per (category, tier) pair, by popularity."""
    groups = catalogue.group_lookup[categories * N_TIERS + tiers]
    return catalogue.by_category_tier.sample(groups, rng.random(len(groups)))


def fraud_orders(
    catalogue: Catalogue,
    rng: np.random.Generator,
    first_items: IntArray,
    second_item_share: float,
    *,
    fraud: str,
    **columns: IntArray,
) -> Orders:
    """Orders of one or two items from the first item's merchant."""
    n = len(first_items)
    two = rng.random(n) < second_item_share
    second = catalogue.by_merchant.sample(
        catalogue.product_merchant[first_items[two]], rng.random(int(two.sum()))
    )
    counts = 1 + two.astype(np.int64)
    items = np.empty(int(counts.sum()), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    items[offsets[:-1]] = first_items
    items[offsets[:-1][two] + 1] = second
    order_of_item = np.repeat(np.arange(n), counts)
    return Orders.from_items(
        catalogue, order_of_item, items, fraud=np.full(n, FRAUD_CODE[fraud], dtype=np.int64), **columns
    )


def _other_region_cell(rng: np.random.Generator, home_cell: IntArray, n_cells: int) -> IntArray:
    shift = rng.integers(1, n_cells // CELLS_PER_REGION, len(home_cell)) * CELLS_PER_REGION
    return ((home_cell + shift) % n_cells).astype(np.int64)


def account_takeover(
    n_victims: int,
    customers: Customers,
    catalogue: Catalogue,
    codes: CodeAllocator,
    rng: np.random.Generator,
    start_us: int,
    end_us: int,
    n_cells: int,
) -> FraudBatch:
    eligible = np.flatnonzero(customers.genuine & (customers.created_us < start_us - 30 * DAY_US))
    victims = rng.choice(eligible, min(n_victims, len(eligible)), replace=False)
    n = len(victims)
    burst = rng.integers(2, 5, n)
    t0 = start_us + (rng.random(n) * (end_us - start_us - DAY_US)).astype(np.int64)
    who = np.repeat(victims, burst)
    attack = np.repeat(np.arange(n), burst)
    first = np.concatenate([[0], np.cumsum(burst)[:-1]])
    gaps = (rng.exponential(35.0, len(who)) * MINUTE_US).astype(np.int64) + MINUTE_US
    cum = np.cumsum(gaps)
    created = t0[attack] + cum - (cum[first] - gaps[first])[attack]
    device, ip, address = codes.take("dev", n), codes.take("ip", n), codes.take("addr", n)
    cell = _other_region_cell(rng, customers.home_cell[victims], n_cells)
    items = pick_products(
        catalogue, rng, rng.choice(RESALE_CATEGORIES, len(who)), np.full(len(who), N_TIERS - 1)
    )
    orders = fraud_orders(
        catalogue,
        rng,
        items,
        0.3,
        fraud="account_takeover",
        customer=who,
        created_us=created,
        device=device[attack],
        instrument=customers.instruments[who, 0],  # the victim's stored instrument
        ip=ip[attack],
        cell=cell[attack],
        address=address[attack],
    )
    return FraudBatch(orders, order_sessions(orders, rng, 15.0))


def card_testing(
    n_attacks: int,
    first_index: int,
    catalogue: Catalogue,
    codes: CodeAllocator,
    rng: np.random.Generator,
    start_us: int,
    end_us: int,
    n_cells: int,
) -> FraudBatch:
    day = rng.integers(0, max(1, (end_us - start_us) // DAY_US - 1), n_attacks)
    t0 = start_us + day * DAY_US + time_of_day_us(rng, n_attacks, _NIGHT)
    t0 = np.minimum(t0, end_us - 6 * HOUR_US)
    created = t0 - (rng.random(n_attacks) * 3 * DAY_US).astype(np.int64) - 10 * MINUTE_US
    accounts = draw_customers(rng, created, _FRAUDSTER_MIX, codes, genuine=False, disposable_email_share=0.6)
    n_small = rng.integers(8, 21, n_attacks)
    per_attack = n_small + 1
    attack = np.repeat(np.arange(n_attacks), per_attack)
    first = np.concatenate([[0], np.cumsum(per_attack)[:-1]])
    position = np.arange(len(attack)) - first[attack]
    is_big = position == n_small[attack]
    gaps = rng.integers(20, 180, len(attack)) * SECOND_US
    gaps[is_big] = rng.integers(10, 60, int(is_big.sum())) * MINUTE_US
    cum = np.cumsum(gaps)
    at = t0[attack] + cum - (cum[first] - gaps[first])[attack]
    tiers = np.where(is_big, N_TIERS - 1, 0)
    categories = np.where(
        is_big, rng.choice(RESALE_CATEGORIES, len(attack)), rng.choice(CHEAP_CATEGORIES, len(attack))
    )
    items = pick_products(catalogue, rng, categories, tiers)
    stolen = codes.take("pi", n_attacks)
    orders = fraud_orders(
        catalogue,
        rng,
        items,
        0.0,
        fraud="card_testing",
        customer=first_index + attack,
        created_us=at,
        device=accounts.devices[attack, 0],
        instrument=stolen[attack],
        ip=accounts.ips[attack, 0],
        cell=rng.integers(0, n_cells, n_attacks)[attack],
        address=accounts.address[attack],
    )
    return FraudBatch(orders, order_sessions(orders, rng, 2.0), accounts)


def fraud_ring(
    n_rings: int,
    first_index: int,
    catalogue: Catalogue,
    codes: CodeAllocator,
    rng: np.random.Generator,
    start_us: int,
    end_us: int,
    n_cells: int,
) -> FraudBatch:
    size = rng.integers(4, 9, n_rings)
    ring_of_account = np.repeat(np.arange(n_rings), size)
    window = rng.integers(5, 21, n_rings) * DAY_US
    window = np.minimum(window, end_us - start_us - 2 * DAY_US)
    ring_start = start_us + (rng.random(n_rings) * (end_us - start_us - window - DAY_US)).astype(np.int64)
    created = ring_start[ring_of_account] - rng.integers(1, 40, len(ring_of_account)) * DAY_US
    accounts = draw_customers(rng, created, _FRAUDSTER_MIX, codes, genuine=False, disposable_email_share=0.2)
    # The shared kit: two devices, two IPs and two drop addresses per ring.
    ring_devices = codes.take("dev", 2 * n_rings).reshape(n_rings, 2)
    ring_ips = codes.take("ip", 2 * n_rings).reshape(n_rings, 2)
    ring_addresses = codes.take("addr", 2 * n_rings).reshape(n_rings, 2)
    ring_cell = rng.integers(0, n_cells, n_rings)
    per_account = rng.integers(1, 4, len(ring_of_account))
    account = np.repeat(np.arange(len(ring_of_account)), per_account)
    ring = ring_of_account[account]
    n = len(account)
    created_us = ring_start[ring] + (rng.random(n) * window[ring]).astype(np.int64)
    created_us = np.maximum(created_us, accounts.created_us[account] + HOUR_US)
    # Members take turns with the kit (so every device and drop address serves at least two
    # accounts), and now and then grab the other device or IP.
    first_of_ring = np.concatenate([[0], np.cumsum(size)[:-1]])
    position = np.arange(len(ring_of_account)) - first_of_ring[ring_of_account]
    pick = np.stack([position % 2, rng.integers(0, 2, len(position)), (position // 2) % 2], axis=1)[account]
    swap = rng.random((n, 2)) < 0.25
    pick[:, :2] = np.where(swap, 1 - pick[:, :2], pick[:, :2])
    items = pick_products(catalogue, rng, rng.choice(RING_CATEGORIES, n), rng.integers(1, N_TIERS, n))
    orders = fraud_orders(
        catalogue,
        rng,
        items,
        0.4,
        fraud="fraud_ring",
        customer=first_index + account,
        created_us=created_us,
        device=ring_devices[ring, pick[:, 0]],
        instrument=accounts.instruments[account, 0],
        ip=ring_ips[ring, pick[:, 1]],
        cell=ring_cell[ring],
        address=ring_addresses[ring, pick[:, 2]],
    )
    return FraudBatch(orders, order_sessions(orders, rng, 25.0), accounts)


def compromised_merchant(
    n_merchants: int,
    fraud_share: float,
    legit: Orders,
    customers: Customers,
    catalogue: Catalogue,
    codes: CodeAllocator,
    rng: np.random.Generator,
    start_us: int,
    window_end_us: int,
    n_cells: int,
) -> tuple[FraudBatch, list[tuple[int, int, int]]]:
    """Fraud at a few busy merchants during a window; also returns (merchant, from_us, to_us)."""
    span_days = max(1, (window_end_us - start_us) // DAY_US)
    length_days = min(int(rng.integers(7, 15)), max(1, span_days // 2))
    volume = np.bincount(legit.merchant, minlength=len(catalogue.merchant_category))
    busy = np.flatnonzero(volume >= np.quantile(volume, 0.75))
    chosen = rng.choice(busy, min(n_merchants, len(busy)), replace=False)
    parts: list[Orders] = []
    windows: list[tuple[int, int, int]] = []
    for merchant in chosen:
        first_day = int(rng.integers(span_days // 10, max(span_days // 10 + 1, span_days - length_days)))
        w_from = start_us + first_day * DAY_US
        w_to = w_from + length_days * DAY_US
        in_window = int(
            ((legit.merchant == merchant) & (legit.created_us >= w_from) & (legit.created_us < w_to)).sum()
        )
        n = max(3, round(fraud_share / (1 - fraud_share) * in_window))
        pool = np.flatnonzero(customers.genuine & (customers.created_us < w_from))
        victims = rng.choice(pool, n, replace=n > len(pool))
        kit_devices, kit_ips, kit_addresses = codes.take("dev", 3), codes.take("ip", 3), codes.take("addr", 4)
        firsts = catalogue.by_merchant.sample(np.full(n, merchant), rng.random(n))
        parts.append(
            fraud_orders(
                catalogue,
                rng,
                firsts,
                0.5,
                fraud="compromised_merchant",
                customer=victims,
                created_us=np.sort(w_from + (rng.random(n) * (w_to - w_from)).astype(np.int64)),
                device=rng.choice(kit_devices, n),
                instrument=customers.instruments[victims, 0],
                ip=rng.choice(kit_ips, n),
                cell=rng.integers(0, n_cells, n),
                address=rng.choice(kit_addresses, n),
            )
        )
        windows.append((int(merchant) + 1, w_from, w_to))
    orders = concat_orders(parts) if parts else empty_orders()
    return FraudBatch(orders, order_sessions(orders, rng, 10.0)), windows
