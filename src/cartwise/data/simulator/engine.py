"""The simulation run: population → browsing → fraud → plans → repayment → labels → tables."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cartwise.data.simulator.browsing import browse
from cartwise.data.simulator.catalogue import build_catalogue
from cartwise.data.simulator.config import SimulationConfig
from cartwise.data.simulator.drift import BASE_MIX, DRIFT_ACTIVITY_BOOST, DRIFT_MIX, synthetic_identity
from cartwise.data.simulator.fraud import (
    FraudBatch,
    account_takeover,
    card_testing,
    compromised_merchant,
    fraud_ring,
)
from cartwise.data.simulator.identity import CodeAllocator, geo_cells
from cartwise.data.simulator.labels import chargeback_reported_at
from cartwise.data.simulator.orders import Orders, concat_events, concat_orders
from cartwise.data.simulator.plans import choose_plans
from cartwise.data.simulator.population import Customers, concat_customers, draw_customers
from cartwise.data.simulator.repayment import credit_outcomes, installment_status, macro_stress, repay
from cartwise.data.simulator.streams import stream
from cartwise.data.simulator.tables import build_tables

__all__ = ["CompromisedWindow", "SimulationResult", "run", "simulate"]

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
DAY_US = 86_400_000_000
YEAR_US = 365 * DAY_US

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CompromisedWindow:
    """A merchant whose orders were largely fraud between two moments."""

    merchant_id: int
    start_us: int
    end_us: int


@dataclass(frozen=True)
class SimulationResult:
    """The warehouse tables plus what only the simulator knows (for tests and benchmarks).

    ``truth`` holds ``checkout_truth`` (every checkout's true fraud type, reported or not)
    and ``customer_truth`` (latent traits and whether a fraudster created the account).
    """

    config: SimulationConfig
    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    compromised_windows: tuple[CompromisedWindow, ...]


def simulate(config: SimulationConfig | None = None) -> dict[str, pa.Table]:
    """Every table of the data model, simulated. Same config, same tables."""
    return run(config).tables


def run(config: SimulationConfig | None = None, progress: Progress | None = None) -> SimulationResult:
    """Simulate and keep the ground truth. ``progress(step)`` is called as each step starts."""
    config = config or SimulationConfig()
    note = progress or (lambda step: None)
    start_us = _us(config.start)
    end_us = _us(config.end)
    drift_us = start_us + config.drift_day * DAY_US
    n_cells = len(geo_cells())
    codes = CodeAllocator()

    note("catalogue")
    catalogue = build_catalogue(config, start_us)

    note("customers")
    customers = _population(config, codes, start_us, drift_us, end_us)
    genuine = np.arange(len(customers))

    note("browsing")
    events, legit = browse(
        config, customers, genuine, catalogue, start_us, end_us, stream(config.seed, "browsing"), codes
    )
    n_legit = len(legit)
    post_drift = int((legit.created_us >= drift_us).sum())
    logger.debug("%d sessions events, %d genuine orders", len(events), n_legit)

    note("fraud")
    rng = stream(config.seed, "fraud")
    batches: list[FraudBatch] = []
    accounts: list[Customers] = [customers]
    next_index = len(customers)

    def add(batch: FraudBatch) -> None:
        nonlocal next_index
        batches.append(batch)
        if batch.accounts is not None:
            accounts.append(batch.accounts)
            next_index += len(batch.accounts)

    if config.account_takeover_rate > 0:
        n = max(1, round(config.account_takeover_rate * n_legit))
        add(account_takeover(n, customers, catalogue, codes, rng, start_us, end_us, n_cells))
    if config.card_testing_rate > 0:
        n = max(1, round(config.card_testing_rate * n_legit))
        add(card_testing(n, next_index, catalogue, codes, rng, start_us, end_us, n_cells))
    if config.fraud_ring_rate > 0:
        n = max(1, round(config.fraud_ring_rate * n_legit))
        add(fraud_ring(n, next_index, catalogue, codes, rng, start_us, end_us, n_cells))
    windows: list[tuple[int, int, int]] = []
    if config.compromised_merchants > 0 and config.compromised_fraud_share > 0:
        batch, windows = compromised_merchant(
            config.compromised_merchants, config.compromised_fraud_share, legit, customers, catalogue,
            codes, rng, start_us, drift_us, n_cells,
        )  # fmt: skip
        add(batch)
    if config.synthetic_identity_rate > 0 and drift_us < end_us - 2 * DAY_US:
        n = max(1, round(config.synthetic_identity_rate * post_drift))
        add(synthetic_identity(n, next_index, catalogue, codes, rng, drift_us, end_us, n_cells))

    everyone = concat_customers(accounts)
    orders = concat_orders([legit, *(b.orders for b in batches)])
    all_events = concat_events([events, *(b.events for b in batches)])

    note("repayment")
    rng = stream(config.seed, "repayment")
    by_time = np.lexsort((orders.customer, orders.created_us))
    orders = _take_orders(orders, by_time)
    plan = choose_plans(orders.amount, everyone.capacity[orders.customer], rng)
    stress = macro_stress(stream(config.seed, "stress"), config.days + 400)
    installments = repay(orders, plan, everyone, stress, start_us, rng)
    reported = chargeback_reported_at(
        orders.created_us, orders.fraud, config.chargeback_unreported_share, stream(config.seed, "labels")
    )
    status, dpd, paid_known = installment_status(installments, reported, end_us)
    outcomes = credit_outcomes(installments, orders.fraud == 0, len(orders), end_us)

    note("tables")
    tables, truth = build_tables(
        config, catalogue, everyone, orders, plan, all_events, installments, status, dpd, paid_known,
        reported, outcomes, end_us,
    )  # fmt: skip
    compromised = tuple(CompromisedWindow(m, a, b) for m, a, b in windows)
    return SimulationResult(config, tables, truth, compromised)


def _population(
    config: SimulationConfig, codes: CodeAllocator, start_us: int, drift_us: int, end_us: int
) -> Customers:
    rng = stream(config.seed, "customers")
    n_before = round(config.customers * config.new_customer_share)
    n_after = round(config.customers * config.drift_new_customer_share) if drift_us < end_us else 0
    n_base = config.customers - n_before - n_after
    # Older accounts are rarer than recent ones: the marketplace has been growing.
    base_created = start_us - (rng.random(n_base) ** 1.5 * 3 * YEAR_US).astype(np.int64) - DAY_US
    before_created = start_us + (rng.random(n_before) * (drift_us - start_us)).astype(np.int64)
    # The campaign's sign-ups come early in the drift period and taper off.
    drift_span = max(end_us - drift_us - DAY_US, 1)
    after_created = drift_us + (np.minimum(rng.exponential(0.3, n_after), 1.0) * drift_span).astype(np.int64)
    base = draw_customers(rng, base_created, BASE_MIX, codes)
    before = draw_customers(rng, before_created, BASE_MIX, codes)
    after = draw_customers(rng, after_created, DRIFT_MIX, codes, activity_boost=DRIFT_ACTIVITY_BOOST)
    return concat_customers([base, before, after])


def _take_orders(orders: Orders, index: IntArray) -> Orders:
    counts = orders.n_items[index]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    starts = orders.item_offsets[index]
    item_index = np.repeat(starts - offsets[:-1], counts) + np.arange(int(offsets[-1]))
    return Orders(
        customer=orders.customer[index], created_us=orders.created_us[index], merchant=orders.merchant[index],
        item_offsets=offsets, items=orders.items[item_index], amount=orders.amount[index],
        device=orders.device[index], instrument=orders.instrument[index], ip=orders.ip[index],
        cell=orders.cell[index], address=orders.address[index], fraud=orders.fraud[index],
    )  # fmt: skip


def _us(moment: object) -> int:
    import datetime as dt

    assert isinstance(moment, dt.datetime)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
