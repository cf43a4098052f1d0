"""The drift that starts on ``SimulationConfig.drift_day``.

Two things change at once, as they do when a marketplace runs a sign-up campaign and is
found by a new kind of fraudster:

- the customer mix: a sign-up campaign brings a wave of new accounts, mostly thin-file and
  young shoppers with lower income and repayment capacity, who shop more than others (a
  welcome offer), so late payments and defaults rise;
- a new fraud pattern, synthetic identity: freshly created accounts with no history place
  one large order on resaleable categories within hours of signing up.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cartwise.data.simulator.catalogue import N_TIERS, Catalogue
from cartwise.data.simulator.fraud import RESALE_CATEGORIES, FraudBatch, fraud_orders, pick_products
from cartwise.data.simulator.identity import CodeAllocator
from cartwise.data.simulator.orders import order_sessions
from cartwise.data.simulator.population import SegmentMix, draw_customers

__all__ = ["BASE_MIX", "DRIFT_ACTIVITY_BOOST", "DRIFT_MIX", "SYNTHETIC_MIX", "synthetic_identity"]

IntArray = npt.NDArray[np.int64]

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000

BASE_MIX = SegmentMix((0.40, 0.25, 0.15, 0.20))
"""Segments (established, young_urban, affluent, thin_file) before the drift."""
DRIFT_MIX = SegmentMix((0.05, 0.35, 0.0, 0.60))
"""Segments of the shoppers who sign up after the drift day."""
DRIFT_ACTIVITY_BOOST = 1.5
"""Campaign sign-ups browse more than other shoppers (a welcome offer)."""
SYNTHETIC_MIX = SegmentMix((0.0, 0.0, 0.0, 1.0))


def synthetic_identity(
    n_orders: int,
    first_index: int,
    catalogue: Catalogue,
    codes: CodeAllocator,
    rng: np.random.Generator,
    drift_us: int,
    end_us: int,
    n_cells: int,
) -> FraudBatch:
    """New accounts, each placing one large order within two days of signing up."""
    latest = end_us - 2 * DAY_US
    span = max(latest - drift_us, HOUR_US)
    created = drift_us + (rng.random(n_orders) * span).astype(np.int64)
    accounts = draw_customers(rng, created, SYNTHETIC_MIX, codes, genuine=False, disposable_email_share=0.5)
    delay = (rng.uniform(0.5, 48.0, n_orders) * HOUR_US).astype(np.int64)
    at = np.minimum(created + delay, end_us - HOUR_US)
    items = pick_products(
        catalogue, rng, rng.choice(RESALE_CATEGORIES, n_orders), np.full(n_orders, N_TIERS - 1)
    )
    index = np.arange(n_orders)
    orders = fraud_orders(
        catalogue,
        rng,
        items,
        0.2,
        fraud="synthetic_identity",
        customer=first_index + index,
        created_us=at,
        device=accounts.devices[index, 0],
        instrument=accounts.instruments[index, 0],
        ip=accounts.ips[index, 0],
        cell=rng.integers(0, n_cells, n_orders),
        address=accounts.address,
    )
    return FraudBatch(orders, order_sessions(orders, rng, 40.0), accounts)
