"""Repayment: when each installment is paid, if ever, and the credit outcome of each order.

Each installment's risk of being late comes from the shopper's repayment capacity, the
size of the payment against their income, how many other plans they opened in the last
30 days, a persistent habit of paying late, a macro stress that moves over time, and
whether their previous installment was late. A high enough risk makes them stop paying
altogether: that plan defaults once its first missed installment is 60 days past due.
Fraudulent orders are never repaid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cartwise.data.simulator.orders import Orders
from cartwise.data.simulator.plans import PLAN_INSTALLMENTS, PLAN_INTERVAL_DAYS, split_amounts
from cartwise.data.simulator.population import Customers
from cartwise.domain.schemas import INSTALLMENT_STATUSES

__all__ = [
    "DEFAULT_DAYS_PAST_DUE",
    "NEVER",
    "CreditOutcomes",
    "Installments",
    "credit_outcomes",
    "installment_status",
    "macro_stress",
    "repay",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
NEVER = np.iinfo(np.int64).max
"""A payment or report that never happens."""
DEFAULT_DAYS_PAST_DUE = 60
MAX_LATE_DAYS = 45
"""Shoppers who pay late pay within this many days; the rest stop paying (and default)."""
STATUS = {name: i for i, name in enumerate(INSTALLMENT_STATUSES)}


@dataclass(frozen=True)
class Installments:
    """One entry per installment, grouped by order, ``seq`` from 1."""

    order: IntArray
    seq: IntArray
    due_us: IntArray
    amount: IntArray
    paid_us: IntArray
    """When it was paid, or NEVER; may lie after the end (then it is not yet known)."""
    late_days: IntArray


@dataclass(frozen=True)
class CreditOutcomes:
    """Resolved outcomes of genuine orders, as of the end of the data."""

    order: IntArray
    defaulted: BoolArray
    max_days_past_due: IntArray
    known_us: IntArray


def macro_stress(rng: np.random.Generator, n_days: int) -> FloatArray:
    """A daily stress index: slow noise plus one downturn somewhere in the middle of the period."""
    noise = np.zeros(n_days)
    steps = rng.normal(0.0, 0.05, n_days)
    for d in range(1, n_days):
        noise[d] = 0.97 * noise[d - 1] + steps[d]
    peak = rng.uniform(0.3, 0.7) * n_days
    bump: FloatArray = 0.6 * np.exp(-0.5 * ((np.arange(n_days) - peak) / 12.0) ** 2)
    return noise + bump


def repay(
    orders: Orders,
    plan: IntArray,
    customers: Customers,
    stress: FloatArray,
    start_us: int,
    rng: np.random.Generator,
) -> Installments:
    """The schedule of every order and when (if ever) each installment is paid."""
    n_inst = PLAN_INSTALLMENTS[plan]
    interval_us = PLAN_INTERVAL_DAYS[plan] * DAY_US
    offsets = np.concatenate([[0], np.cumsum(n_inst)])
    order_of = np.repeat(np.arange(len(orders)), n_inst)
    seq = np.arange(len(order_of)) - offsets[order_of] + 1
    due = orders.created_us[order_of] + seq * interval_us[order_of]
    amount = split_amounts(orders.amount, n_inst)
    paid = np.full(len(order_of), NEVER, dtype=np.int64)
    late_days = np.zeros(len(order_of), dtype=np.int64)

    cust = orders.customer
    income_minor = customers.monthly_income[cust] * 100.0
    monthly_obligation = orders.amount / n_inst * (30.0 / PLAN_INTERVAL_DAYS[plan])
    capacity = customers.capacity[cust]
    incapacity = np.log((1 - capacity) / capacity)
    base_risk = (
        -2.4
        + 0.9 * incapacity
        + 2.5 * np.minimum(monthly_obligation / income_minor, 2.0)
        + 1.0 * customers.late_tendency[cust]
        + 0.4 * np.log1p(_recent_orders(cust, orders.created_us, 30 * DAY_US))
    )
    genuine = orders.fraud == 0
    stopped = ~genuine  # fraudsters never pay
    previous_late = np.zeros(len(orders), dtype=bool)
    for k in range(1, int(n_inst.max(initial=0)) + 1):
        active = np.flatnonzero(n_inst >= k)
        rows = offsets[active] + k - 1
        due_day = np.clip((due[rows] - start_us) // DAY_US, 0, len(stress) - 1)
        risk = (
            base_risk[active]
            + 0.9 * stress[due_day]
            + 0.9 * previous_late[active]
            + rng.normal(0, 0.4, len(active))
        )
        stops = rng.random(len(active)) < _sigmoid(risk - 2.25)
        stopped[active] |= stops
        pays = ~stopped[active]
        late = pays & (rng.random(len(active)) < _sigmoid(risk))
        days = np.minimum(1 + rng.geometric(1.0 / (2.0 + 10.0 * _sigmoid(risk))), MAX_LATE_DAYS)
        days = np.where(late, days, 0)
        jitter = np.where(
            late, rng.integers(0, 12 * HOUR_US, len(active)), -rng.integers(0, 72 * HOUR_US, len(active))
        )
        when = np.maximum(due[rows] + days * DAY_US + jitter, orders.created_us[active] + HOUR_US)
        paid[rows] = np.where(pays, when, NEVER)
        late_days[rows] = days
        previous_late[active] = late | ~pays
    return Installments(order_of, seq, due, amount, paid, late_days)


def installment_status(
    inst: Installments, reported_us: IntArray, end_us: int
) -> tuple[IntArray, IntArray, BoolArray]:
    """Status, days past due and whether paid_at is known, all as of ``end_us``.

    ``reported_us[order]`` is when the order's chargeback arrives (NEVER for none): from then
    on its unpaid installments are cancelled.
    """
    paid_known = inst.paid_us <= end_us
    status = np.full(len(inst.order), STATUS["scheduled"], dtype=np.int64)
    dpd = np.zeros(len(inst.order), dtype=np.int64)
    status[paid_known] = np.where(inst.late_days[paid_known] > 0, STATUS["paid_late"], STATUS["paid"])
    dpd[paid_known] = inst.late_days[paid_known]
    unpaid = ~paid_known
    past_due_days = (end_us - inst.due_us) // DAY_US
    overdue = unpaid & (past_due_days >= 1)
    dpd[overdue] = past_due_days[overdue]
    status[overdue] = np.where(
        past_due_days[overdue] >= DEFAULT_DAYS_PAST_DUE, STATUS["defaulted"], STATUS["overdue"]
    )
    cancelled = unpaid & (reported_us[inst.order] <= end_us)
    status[cancelled] = STATUS["cancelled"]
    dpd[cancelled] = 0
    return status, dpd, paid_known


def credit_outcomes(inst: Installments, genuine: BoolArray, n_orders: int, end_us: int) -> CreditOutcomes:
    """Defaulted (60+ days past due) or repaid, for the genuine orders resolved by ``end_us``."""
    never = inst.paid_us == NEVER
    first_missed = np.full(n_orders, NEVER, dtype=np.int64)
    np.minimum.at(first_missed, inst.order[never], inst.due_us[never])
    default_at = np.where(first_missed == NEVER, NEVER, first_missed + DEFAULT_DAYS_PAST_DUE * DAY_US)
    last_paid = np.zeros(n_orders, dtype=np.int64)
    np.maximum.at(last_paid, inst.order, inst.paid_us)  # NEVER dominates for unpaid plans
    max_late = np.zeros(n_orders, dtype=np.int64)
    np.maximum.at(max_late, inst.order, inst.late_days)
    defaulted = default_at <= end_us
    repaid = ~defaulted & (last_paid <= end_us)
    resolved = np.flatnonzero(genuine & (defaulted | repaid))
    known = np.where(defaulted, default_at, last_paid)[resolved]
    worst = np.where(defaulted, np.maximum(max_late, DEFAULT_DAYS_PAST_DUE), max_late)[resolved]
    return CreditOutcomes(resolved, defaulted[resolved], worst, known)


def _recent_orders(customer: IntArray, created_us: IntArray, window_us: int) -> IntArray:
    """For each order, how many earlier orders its customer placed within ``window_us``."""
    seconds = created_us // 1_000_000
    key = customer.astype(np.int64) * (1 << 33) + seconds
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    since = np.searchsorted(sorted_key, sorted_key - window_us // 1_000_000, side="left")
    counts = np.empty(len(key), dtype=np.int64)
    counts[order] = np.arange(len(key)) - since
    return counts


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out
