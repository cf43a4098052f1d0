"""Turn the simulation's arrays into the warehouse tables of the data model.

Identifiers are handed out in time order (customers by sign-up, checkouts by order time,
events by time), as a production system's sequences would, so no id leaks who is a
fraudster.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cartwise.data.simulator.arrow_columns import names, timestamps
from cartwise.data.simulator.catalogue import Catalogue
from cartwise.data.simulator.config import SimulationConfig
from cartwise.data.simulator.identity import codes_to_strings, geo_cells
from cartwise.data.simulator.orders import Events, Orders
from cartwise.data.simulator.plans import PLAN_INSTALLMENTS, PLAN_INTERVAL_DAYS
from cartwise.data.simulator.population import Customers
from cartwise.data.simulator.repayment import NEVER, CreditOutcomes, Installments
from cartwise.domain.schemas import (
    EVENT_TYPES,
    FRAUD_TYPES,
    INSTALLMENT_STATUSES,
    PLAN_TYPES,
    TABLES,
)

__all__ = ["build_tables"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def build_tables(
    config: SimulationConfig,
    catalogue: Catalogue,
    customers: Customers,
    orders: Orders,
    plan: IntArray,
    events: Events,
    installments: Installments,
    status: IntArray,
    days_past_due: IntArray,
    paid_known: BoolArray,
    reported_us: IntArray,
    outcomes: CreditOutcomes,
    end_us: int,
) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """The eight tables, and the simulator's ground truth."""
    tables = catalogue.tables(config.currency)

    by_signup = np.argsort(customers.created_us, kind="stable")
    customer_id = np.empty(len(customers), dtype=np.int64)
    customer_id[by_signup] = np.arange(1, len(customers) + 1)
    tables["customers"] = customers.table(customer_id)

    tables["events"] = _events_table(events, customer_id)

    n = len(orders)
    checkout_id = np.arange(1, n + 1, dtype=np.int64)
    cells = pa.array(geo_cells(), type=pa.string())
    checkouts = {
        "checkout_id": checkout_id,
        "customer_id": customer_id[orders.customer],
        "merchant_id": orders.merchant + 1,
        "created_at": timestamps(orders.created_us),
        "amount_minor": orders.amount,
        "currency": pa.array([config.currency] * n, type=pa.string()),
        "n_items": orders.n_items.astype(np.int32),
        "product_ids": pa.ListArray.from_arrays(orders.item_offsets.astype(np.int32), orders.items + 1),
        "device_id": codes_to_strings("dev", orders.device),
        "payment_instrument_id": codes_to_strings("pi", orders.instrument),
        "ip_hash": codes_to_strings("ip", orders.ip),
        "geo_hash": cells.take(pa.array(orders.cell)),
        "shipping_address_hash": codes_to_strings("addr", orders.address),
        "plan_type": names(PLAN_TYPES, plan),
        "n_installments": PLAN_INSTALLMENTS[plan].astype(np.int32),
        "installment_interval_days": PLAN_INTERVAL_DAYS[plan].astype(np.int32),
    }
    tables["checkouts"] = pa.table(checkouts).cast(TABLES["checkouts"].schema)

    inst = installments
    tables["installments"] = pa.table(
        {
            "installment_id": np.arange(1, len(inst.order) + 1, dtype=np.int64),
            "checkout_id": inst.order + 1,
            "customer_id": customer_id[orders.customer[inst.order]],
            "seq": inst.seq.astype(np.int32),
            "due_at": timestamps(inst.due_us),
            "amount_minor": inst.amount,
            "paid_at": timestamps(inst.paid_us, paid_known),
            "days_past_due": days_past_due.astype(np.int32),
            "status": names(INSTALLMENT_STATUSES, status),
        }
    ).cast(TABLES["installments"].schema)

    known = np.flatnonzero(reported_us <= end_us)
    known = known[np.lexsort((known, reported_us[known]))]
    tables["chargebacks"] = pa.table(
        {
            "chargeback_id": np.arange(1, len(known) + 1, dtype=np.int64),
            "checkout_id": known + 1,
            "customer_id": customer_id[orders.customer[known]],
            "merchant_id": orders.merchant[known] + 1,
            "order_created_at": timestamps(orders.created_us[known]),
            "reported_at": timestamps(reported_us[known]),
            "amount_minor": orders.amount[known],
            "fraud_type": names(FRAUD_TYPES, orders.fraud[known] - 1),
        }
    ).cast(TABLES["chargebacks"].schema)

    tables["credit_outcomes"] = pa.table(
        {
            "checkout_id": outcomes.order + 1,
            "customer_id": customer_id[orders.customer[outcomes.order]],
            "order_created_at": timestamps(orders.created_us[outcomes.order]),
            "defaulted": outcomes.defaulted,
            "max_days_past_due": outcomes.max_days_past_due.astype(np.int32),
            "known_at": timestamps(outcomes.known_us),
        }
    ).cast(TABLES["credit_outcomes"].schema)

    fraud = orders.fraud > 0
    truth = {
        "checkout_truth": pa.table(
            {
                "checkout_id": checkout_id,
                "fraud_type": pa.array(
                    np.array(("", *FRAUD_TYPES), dtype=object)[orders.fraud], type=pa.string(), mask=~fraud
                ),
                "chargeback_reported_at": timestamps(reported_us, reported_us != NEVER),
            }
        ),
        "customer_truth": pa.table(
            {
                "customer_id": customer_id,
                "genuine": customers.genuine,
                "monthly_income": customers.monthly_income,
                "capacity": customers.capacity,
                "late_tendency": customers.late_tendency,
                "price_sensitivity": customers.price_sensitivity,
            }
        ).sort_by("customer_id"),
    }
    return {name: tables[name] for name in TABLES}, truth


def _events_table(events: Events, customer_id: IntArray) -> pa.Table:
    n_sessions = int(events.session.max()) + 1 if len(events) else 0
    first_at = np.full(n_sessions, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_at, events.session, events.at_us)
    session_rank = np.empty(n_sessions, dtype=np.int64)
    session_rank[np.lexsort((np.arange(n_sessions), first_at))] = np.arange(1, n_sessions + 1)
    session_id = session_rank[events.session]
    order = np.lexsort((events.kind, session_id, events.at_us))
    return pa.table(
        {
            "event_id": np.arange(1, len(events) + 1, dtype=np.int64),
            "session_id": session_id[order],
            "customer_id": customer_id[events.customer[order]],
            "product_id": events.product[order] + 1,
            "event_type": names(EVENT_TYPES, events.kind[order]),
            "event_at": timestamps(events.at_us[order]),
            "device_id": codes_to_strings("dev", events.device[order]),
        }
    ).cast(TABLES["events"].schema)
