"""Orders and browsing events as arrays, before they become warehouse tables.

Legitimate shoppers and each fraud mechanism produce the same two shapes, so they can
be concatenated and turned into tables in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from cartwise.data.simulator.catalogue import Catalogue

__all__ = [
    "EVENT_CART",
    "EVENT_PURCHASE",
    "EVENT_VIEW",
    "Events",
    "Orders",
    "concat_events",
    "concat_orders",
    "empty_orders",
    "order_sessions",
]

IntArray = npt.NDArray[np.int64]

EVENT_VIEW, EVENT_CART, EVENT_PURCHASE = 0, 1, 2
SECOND_US = 1_000_000


@dataclass(frozen=True)
class Orders:
    """One entry per order; ``items[item_offsets[i]:item_offsets[i + 1]]`` are order i's products."""

    customer: IntArray
    created_us: IntArray
    merchant: IntArray
    item_offsets: IntArray
    items: IntArray
    amount: IntArray
    device: IntArray
    instrument: IntArray
    ip: IntArray
    cell: IntArray
    address: IntArray
    fraud: IntArray
    """0 for a genuine order, else 1 + the index of its mechanism in FRAUD_TYPES."""

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def n_items(self) -> IntArray:
        return np.diff(self.item_offsets)

    @staticmethod
    def from_items(
        catalogue: Catalogue,
        order_of_item: IntArray,
        items: IntArray,
        **columns: IntArray,
    ) -> Orders:
        """Orders from items grouped by ``order_of_item`` (0..n-1, sorted); amount and merchant follow."""
        n = len(columns["customer"])
        counts = np.bincount(order_of_item, minlength=n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        amount = np.bincount(order_of_item, weights=catalogue.product_price[items], minlength=n)
        merchant = catalogue.product_merchant[items[offsets[:-1]]] if n else np.zeros(0, np.int64)
        return Orders(
            merchant=merchant.astype(np.int64),
            item_offsets=offsets,
            items=items.astype(np.int64),
            amount=np.rint(amount).astype(np.int64),
            **columns,
        )


@dataclass(frozen=True)
class Events:
    """One entry per event; ``session`` is local to the producer until concatenated."""

    session: IntArray
    customer: IntArray
    product: IntArray
    kind: IntArray
    at_us: IntArray
    device: IntArray

    def __len__(self) -> int:
        return len(self.session)


def empty_orders() -> Orders:
    """No orders (a mechanism that did not fire)."""
    empty = np.zeros(0, dtype=np.int64)
    return Orders(
        customer=empty, created_us=empty, merchant=empty, item_offsets=np.zeros(1, np.int64), items=empty,
        amount=empty, device=empty, instrument=empty, ip=empty, cell=empty, address=empty, fraud=empty,
    )  # fmt: skip


def concat_orders(parts: list[Orders]) -> Orders:
    """All orders, in the order given."""
    item_offsets = [parts[0].item_offsets[:1] * 0]
    shift = 0
    for part in parts:
        item_offsets.append(part.item_offsets[1:] + shift)
        shift += int(part.item_offsets[-1])
    merged = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts])
        for f in fields(Orders)
        if f.name != "item_offsets"
    }
    return Orders(item_offsets=np.concatenate(item_offsets).astype(np.int64), **merged)


def concat_events(parts: list[Events]) -> Events:
    """All events, with each part's sessions renumbered after the previous part's."""
    sessions = []
    shift = 0
    for part in parts:
        sessions.append(part.session + shift)
        shift += int(part.session.max()) + 1 if len(part) else 0
    merged = {
        f.name: np.concatenate([getattr(p, f.name) for p in parts])
        for f in fields(Events)
        if f.name != "session"
    }
    return Events(session=np.concatenate(sessions), **merged)


def order_sessions(orders: Orders, rng: np.random.Generator, seconds_per_view: float) -> Events:
    """A short session before each order: view and add each item, then buy them.

    ``seconds_per_view`` sets the pace; scripted fraud browses in seconds, people in minutes.
    """
    n_items = orders.n_items
    order_of_item = np.repeat(np.arange(len(orders)), n_items)
    position = np.arange(len(orders.items)) - orders.item_offsets[order_of_item]
    # Item k of an order with m items is viewed (m - k) gaps before the purchase.
    gaps = rng.exponential(seconds_per_view, len(orders.items)) + 1.0
    back = ((n_items[order_of_item] - position) * gaps * SECOND_US).astype(np.int64)
    purchase_at = orders.created_us[order_of_item] - SECOND_US
    view_at = purchase_at - back - SECOND_US
    cart_at = view_at + (rng.random(len(view_at)) * 0.5 * gaps * SECOND_US).astype(np.int64) + 1
    customer = orders.customer[order_of_item]
    device = orders.device[order_of_item]
    return Events(
        session=np.tile(order_of_item, 3),
        customer=np.tile(customer, 3),
        product=np.tile(orders.items, 3),
        kind=np.repeat(np.array([EVENT_VIEW, EVENT_CART, EVENT_PURCHASE]), len(order_of_item)),
        at_us=np.concatenate([view_at, cart_at, purchase_at]),
        device=np.tile(device, 3),
    )
