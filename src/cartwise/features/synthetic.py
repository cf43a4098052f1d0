"""Synthetic warehouse tables for feature tests and the training-frame benchmark.

A small, fast, seeded generator that fills every cartwise table with rows of the
declared schema and plausible structure (repeat customers, shared devices and
addresses, late and missing payments, chargebacks reported days later). It is
not the marketplace simulator (:mod:`cartwise.data.simulator`): it exists so the
feature layer can be exercised at any size in seconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cartwise.domain.schemas import TABLES, TIMESTAMP

__all__ = ["synthetic_tables"]

_DAY = 86_400_000_000
_START = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _ts(values: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(values, type=pa.int64()).cast(TIMESTAMP)


def _ids(prefix: str, codes: npt.NDArray[np.int64]) -> pa.Array:
    return pa.array(np.char.add(prefix, codes.astype(str)).astype(object), type=pa.string())


def synthetic_tables(
    *,
    checkouts: int = 2_000,
    customers: int | None = None,
    days: int = 60,
    events_per_checkout: float = 3.0,
    seed: int = 0,
) -> dict[str, pa.Table]:
    """Every cartwise table, with about ``checkouts`` orders over ``days`` days."""
    rng = np.random.default_rng(seed)
    n_cust = customers or max(10, checkouts // 8)
    n_merch = max(3, n_cust // 50)
    n_prod = max(10, n_cust // 5)
    end = _START + days * _DAY

    cust_created = _START - rng.integers(0, 400 * _DAY, n_cust)
    tables: dict[str, pa.Table] = {}
    tables["customers"] = pa.table(
        {
            "customer_id": pa.array(np.arange(n_cust, dtype=np.int64)),
            "created_at": _ts(cust_created),
            "home_region": pa.array(rng.choice(["north", "south", "east", "west"], n_cust)),
            "email_domain": pa.array(rng.choice(["mail.example", "inbox.example"], n_cust)),
            "age_band": pa.array(rng.choice(["18-24", "25-34", "35-54", "55+"], n_cust)),
            "gender": pa.array(rng.choice(["f", "m", "x"], n_cust)),
            "segment": pa.array(rng.choice(["new", "regular", "loyal"], n_cust)),
        }
    )
    categories = np.array(["fashion", "electronics", "home", "beauty", "sports"])
    tables["merchants"] = pa.table(
        {
            "merchant_id": pa.array(np.arange(n_merch, dtype=np.int64)),
            "name": pa.array([f"merchant {i}" for i in range(n_merch)]),
            "category": pa.array(rng.choice(categories, n_merch)),
            "fee_rate": pa.array(rng.uniform(0.02, 0.06, n_merch)),
            "created_at": _ts(_START - rng.integers(100, 900, n_merch) * _DAY),
        }
    )
    prod_merchant = rng.integers(0, n_merch, n_prod)
    tables["products"] = pa.table(
        {
            "product_id": pa.array(np.arange(n_prod, dtype=np.int64)),
            "merchant_id": pa.array(prod_merchant),
            "title": pa.array([f"product {i}" for i in range(n_prod)]),
            "description": pa.array([""] * n_prod),
            "category": pa.array(rng.choice(categories, n_prod)),
            "price_minor": pa.array(rng.integers(500, 50_000, n_prod)),
            "currency": pa.array(["USD"] * n_prod),
            "created_at": _ts(_START - rng.integers(10, 300, n_prod) * _DAY),
        }
    )

    # checkouts: a heavy-tailed customer mix; each customer has a home device, card and address,
    # sometimes another one, and a few devices/addresses are shared by rings of customers
    n = checkouts
    weights = np.minimum(rng.pareto(1.5, n_cust) + 0.1, 20.0)  # a few loyal shoppers, no bots
    customer = rng.choice(n_cust, n, p=weights / weights.sum())
    created = np.sort(_START + rng.integers(0, days * _DAY, n))
    other = rng.random(n) < 0.15
    ring = rng.random(n) < 0.02
    device = np.where(other, rng.integers(0, 2 * n_cust, n), customer)
    device = np.where(ring, 3 * n_cust + rng.integers(0, 20, n), device)
    address = np.where(rng.random(n) < 0.1, rng.integers(0, 2 * n_cust, n), customer)
    address = np.where(ring, 3 * n_cust + rng.integers(0, 20, n), address)
    card = np.where(rng.random(n) < 0.1, rng.integers(0, 2 * n_cust, n), customer)
    ip = np.where(rng.random(n) < 0.3, rng.integers(0, 4 * n_cust, n), customer)
    amount = np.maximum(100, rng.lognormal(8.5, 1.0, n)).astype(np.int64)
    plan = rng.choice(4, n, p=[0.6, 0.2, 0.12, 0.08])
    plan_names = np.array(["pay_in_4", "pay_monthly_3", "pay_monthly_6", "pay_monthly_12"])
    n_inst = np.array([4, 3, 6, 12], dtype=np.int32)[plan]
    interval = np.array([14, 30, 30, 30], dtype=np.int32)[plan]
    n_items = rng.integers(1, 4, n).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(n_items)]).astype(np.int32)
    flat_products = rng.integers(0, n_prod, int(offsets[-1])).astype(np.int64)
    product_ids = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat_products))
    merchant = prod_merchant[flat_products[offsets[:-1]]]
    tables["checkouts"] = pa.table(
        {
            "checkout_id": pa.array(np.arange(n, dtype=np.int64)),
            "customer_id": pa.array(customer.astype(np.int64)),
            "merchant_id": pa.array(merchant.astype(np.int64)),
            "created_at": _ts(created),
            "amount_minor": pa.array(amount),
            "currency": pa.array(np.full(n, "USD", dtype=object), type=pa.string()),
            "n_items": pa.array(n_items),
            "product_ids": product_ids,
            "device_id": _ids("dev", device),
            "payment_instrument_id": _ids("card", card),
            "ip_hash": _ids("ip", ip),
            "geo_hash": _ids("geo", customer % 97),
            "shipping_address_hash": _ids("addr", address),
            "plan_type": pa.array(plan_names[plan].astype(object), type=pa.string()),
            "n_installments": pa.array(n_inst),
            "installment_interval_days": pa.array(interval),
        }
    )

    # installments: the first is due at checkout, then every interval; most are paid on time
    order = np.repeat(np.arange(n), n_inst)
    seq = np.concatenate([np.arange(k) for k in n_inst]).astype(np.int32) if n else np.zeros(0, np.int32)
    due = created[order] + seq.astype(np.int64) * interval[order].astype(np.int64) * _DAY
    risky = rng.random(n_cust) < 0.15
    late = rng.random(len(order)) < np.where(risky[customer[order]], 0.35, 0.04)
    delay = np.where(late, rng.integers(1, 45 * _DAY, len(order)), -rng.integers(0, 3 * _DAY, len(order)))
    paid = due + delay
    never = late & (rng.random(len(order)) < 0.25)
    paid_known = (~never) & (paid < end)
    paid_at = pa.array(np.where(paid_known, paid, 0), type=pa.int64(), mask=~paid_known).cast(TIMESTAMP)
    dpd = np.where(due >= end, 0, np.maximum(0, (np.where(paid_known, paid, end) - due) // _DAY)).astype(
        np.int32
    )
    status = np.where(
        due >= end,
        "scheduled",
        np.where(paid_known & (paid <= due), "paid", np.where(paid_known, "paid_late", "overdue")),
    )
    inst_amount = (amount[order] // n_inst[order]).astype(np.int64)
    tables["installments"] = pa.table(
        {
            "installment_id": pa.array(np.arange(len(order), dtype=np.int64)),
            "checkout_id": pa.array(order.astype(np.int64)),
            "customer_id": pa.array(customer[order].astype(np.int64)),
            "seq": pa.array(seq),
            "due_at": _ts(due),
            "amount_minor": pa.array(inst_amount),
            "paid_at": paid_at,
            "days_past_due": pa.array(dpd),
            "status": pa.array(status.astype(object), type=pa.string()),
        }
    )

    # chargebacks: ~2% of orders, more on ring devices, reported 2-60 days later
    cb = np.flatnonzero(rng.random(n) < np.where(ring, 0.5, 0.015))
    reported = created[cb] + rng.integers(2 * _DAY, 60 * _DAY, len(cb))
    tables["chargebacks"] = pa.table(
        {
            "chargeback_id": pa.array(np.arange(len(cb), dtype=np.int64)),
            "checkout_id": pa.array(cb.astype(np.int64)),
            "customer_id": pa.array(customer[cb].astype(np.int64)),
            "merchant_id": pa.array(merchant[cb].astype(np.int64)),
            "order_created_at": _ts(created[cb]),
            "reported_at": _ts(reported),
            "amount_minor": pa.array(amount[cb]),
            "fraud_type": pa.array(rng.choice(["card_testing", "fraud_ring"], len(cb))),
        }
    )

    # credit outcomes: known at the last due date (+60 days when it went unpaid)
    last_due = created + (n_inst - 1).astype(np.int64) * interval.astype(np.int64) * _DAY
    worst = np.zeros(n, dtype=np.int64)
    np.maximum.at(worst, order, dpd.astype(np.int64))
    defaulted = worst >= 60
    known = last_due + np.where(defaulted, 60 * _DAY, rng.integers(0, 5 * _DAY, n))
    resolved = np.flatnonzero(known < end)
    tables["credit_outcomes"] = pa.table(
        {
            "checkout_id": pa.array(resolved.astype(np.int64)),
            "customer_id": pa.array(customer[resolved].astype(np.int64)),
            "order_created_at": _ts(created[resolved]),
            "defaulted": pa.array(defaulted[resolved]),
            "max_days_past_due": pa.array(worst[resolved].astype(np.int32)),
            "known_at": _ts(known[resolved]),
        }
    )

    # browsing: events before each order on its products, plus background browsing
    n_ev = int(n * events_per_checkout)
    src = rng.integers(0, max(n, 1), n_ev)
    ev_at = np.where(
        rng.random(n_ev) < 0.5,
        created[src] - rng.integers(1, 3_600_000_000, n_ev),
        _START + rng.integers(0, days * _DAY, n_ev),
    )
    ev_type = rng.choice(["view", "add_to_cart", "purchase"], n_ev, p=[0.75, 0.18, 0.07])
    tables["events"] = pa.table(
        {
            "event_id": pa.array(np.arange(n_ev, dtype=np.int64)),
            "session_id": pa.array((src // 2).astype(np.int64)),
            "customer_id": pa.array(customer[src].astype(np.int64)),
            "product_id": pa.array(rng.integers(0, n_prod, n_ev).astype(np.int64)),
            "event_type": pa.array(ev_type.astype(object), type=pa.string()),
            "event_at": _ts(ev_at),
            "device_id": _ids("dev", device[src]),
        }
    )
    return {name: table.cast(TABLES[name].schema) for name, table in tables.items()}
