"""Genuine shopping: sessions of views, add-to-cart and purchases driven by tastes and prices.

A session looks at one category (chosen by the shopper's tastes) with the odd detour,
in the price tiers the shopper prefers. Expensive items relative to income are carted
less often by price-sensitive shoppers, and a cart converts less often the larger it
is. Each purchased cart becomes one order per merchant.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cartwise.data.simulator.catalogue import N_TIERS, Catalogue
from cartwise.data.simulator.config import SimulationConfig
from cartwise.data.simulator.identity import CodeAllocator
from cartwise.data.simulator.orders import EVENT_CART, EVENT_PURCHASE, EVENT_VIEW, Events, Orders
from cartwise.data.simulator.population import Customers
from cartwise.data.simulator.sampling import choose_rows

__all__ = ["HOUR_WEIGHTS", "browse", "time_of_day_us"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DAY_US = 86_400_000_000
NEVER = np.iinfo(np.int64).max
NEW_DEVICE_SHARE = 0.08
"""Share of shoppers who start using a new device at some moment of the period."""
GIFT_SHARE = 0.04
"""Share of genuine orders shipped to an address the shopper never used before."""
HOUR_US = 3_600_000_000
SECOND_US = 1_000_000

HOUR_WEIGHTS = np.array(
    [2, 1, 0.6, 0.4, 0.4, 0.6, 1.2, 2.2, 3, 3.4, 3.6, 4, 4.6, 4.4, 4, 3.8, 4, 4.4, 5.2, 6.2, 6.8, 6.4, 5, 3.4]
)
"""When people shop, by UTC hour (a US evening peak)."""


def time_of_day_us(rng: np.random.Generator, n: int, weights: FloatArray = HOUR_WEIGHTS) -> IntArray:
    hours = rng.choice(24, n, p=weights / weights.sum())
    return (hours * HOUR_US + rng.integers(0, HOUR_US, n)).astype(np.int64)


def browse(
    config: SimulationConfig,
    customers: Customers,
    who: IntArray,
    catalogue: Catalogue,
    start_us: int,
    end_us: int,
    rng: np.random.Generator,
    codes: CodeAllocator,
) -> tuple[Events, Orders]:
    """Sessions and orders of the customers at indices ``who``.

    Genuine shoppers are not perfectly regular either: some replace their phone during the
    period (a device new to the account, from then on) and some orders ship to another
    address (gifts), so "new device" and "new address" are signals, not giveaways.
    """
    # -- sessions ------------------------------------------------------
    begin = np.maximum(customers.created_us[who], start_us)
    active_days = (end_us - begin) / DAY_US
    rate = customers.activity[who] * config.sessions_per_day
    n_sessions = rng.poisson(rate * active_days)
    s_cust = np.repeat(who, n_sessions)
    s_begin = np.repeat(begin, n_sessions)
    day = s_begin // DAY_US + (rng.random(len(s_cust)) * np.repeat(active_days, n_sessions)).astype(np.int64)
    s_start = day * DAY_US + time_of_day_us(rng, len(s_cust))
    # Sessions end well before the data does, and start after the account exists.
    s_start = np.clip(s_start, s_begin + 60 * SECOND_US, end_us - 3 * HOUR_US)
    order = np.argsort(s_start, kind="stable")
    s_cust, s_start = s_cust[order], s_start[order]
    n_s = len(s_cust)
    s_category = choose_rows(customers.tastes[s_cust], rng.random(n_s))
    use_second = (customers.n_devices[s_cust] == 2) & (rng.random(n_s) < 0.5)
    s_slot = use_second.astype(np.int64)
    s_device = customers.devices[s_cust, s_slot]
    n_all = len(customers)
    switches = rng.random(n_all) < NEW_DEVICE_SHARE
    switch_at = np.where(
        switches, start_us + (rng.random(n_all) * (end_us - start_us)).astype(np.int64), NEVER
    )
    new_device = np.full(n_all, -1, dtype=np.int64)
    new_device[switches] = codes.take("dev", int(switches.sum()))
    switched = s_start >= switch_at[s_cust]
    s_device = np.where(switched, new_device[s_cust], s_device)

    # -- views ---------------------------------------------------------
    n_views = np.minimum(1 + rng.poisson(3.2, n_s), 16)
    v_sess = np.repeat(np.arange(n_s), n_views)
    v_cust = s_cust[v_sess]
    n_v = len(v_sess)
    detour = rng.random(n_v) < 0.12
    v_category = s_category[v_sess]
    v_category[detour] = choose_rows(customers.tastes[v_cust[detour]], rng.random(int(detour.sum())))
    v_tier = choose_rows(customers.tier_preference[v_cust], rng.random(n_v))
    group = catalogue.group_lookup[v_category * N_TIERS + v_tier]
    v_product = catalogue.by_category_tier.sample(group, rng.random(n_v))
    gaps = (np.minimum(rng.exponential(50.0, n_v), 300.0) * SECOND_US).astype(np.int64) + SECOND_US
    first_view = np.concatenate([[0], np.cumsum(n_views)[:-1]])
    cum = np.cumsum(gaps)
    v_at = s_start[v_sess] + cum - (cum[first_view] - gaps[first_view])[v_sess]

    # -- carts: the first view of a product in a session may add it -------
    key = v_sess * catalogue.n_products + v_product
    _, first = np.unique(key, return_index=True)
    first_time = np.zeros(n_v, dtype=bool)
    first_time[first] = True
    income_minor = customers.monthly_income[v_cust] * 100.0
    relative_price = catalogue.product_price[v_product] / income_minor
    p_cart = 0.13 * np.exp(-customers.price_sensitivity[v_cust] * relative_price * 8.0)
    carted = first_time & (rng.random(n_v) < p_cart)
    c_idx = np.flatnonzero(carted)
    c_at = v_at[c_idx] + (rng.integers(3, 40, len(c_idx)) * SECOND_US)

    # -- purchases: a session with a cart may convert ---------------------
    c_sess = v_sess[c_idx]
    cart_value = np.bincount(c_sess, weights=catalogue.product_price[v_product[c_idx]], minlength=n_s)
    has_cart = cart_value > 0
    s_income = customers.monthly_income[s_cust] * 100.0
    p_buy = 0.6 / (1.0 + np.exp(-(2.0 - 6.0 * customers.price_sensitivity[s_cust] * cart_value / s_income)))
    converts = has_cart & (rng.random(n_s) < p_buy)
    last_event = np.maximum.reduceat(v_at, first_view) if n_s else np.zeros(0, np.int64)
    last_cart = np.zeros(n_s, dtype=np.int64)
    np.maximum.at(last_cart, c_sess, c_at)
    s_purchase_at = np.maximum(last_event, last_cart) + rng.integers(20, 120, n_s) * SECOND_US
    bought = c_idx[converts[c_sess]]
    b_sess = v_sess[bought]
    b_product = v_product[bought]

    events = Events(
        session=np.concatenate([v_sess, c_sess, b_sess]),
        customer=np.concatenate([v_cust, v_cust[c_idx], v_cust[bought]]),
        product=np.concatenate([v_product, v_product[c_idx], b_product]),
        kind=np.concatenate(
            [
                np.full(n_v, EVENT_VIEW),
                np.full(len(c_idx), EVENT_CART),
                np.full(len(bought), EVENT_PURCHASE),
            ]
        ).astype(np.int64),
        at_us=np.concatenate([v_at, c_at, s_purchase_at[b_sess]]),
        device=s_device[np.concatenate([v_sess, c_sess, b_sess])],
    )
    orders = _orders_from_purchases(
        customers, catalogue, b_sess, b_product, s_cust, s_slot, s_device, s_purchase_at, rng, codes
    )
    return events, orders


def _orders_from_purchases(
    customers: Customers,
    catalogue: Catalogue,
    b_sess: IntArray,
    b_product: IntArray,
    s_cust: IntArray,
    s_slot: IntArray,
    s_device: IntArray,
    s_purchase_at: IntArray,
    rng: np.random.Generator,
    codes: CodeAllocator,
) -> Orders:
    merchant = catalogue.product_merchant[b_product]
    order = np.lexsort((b_product, merchant, b_sess))
    b_sess, b_product, merchant = b_sess[order], b_product[order], merchant[order]
    new_order = np.concatenate([[True], (b_sess[1:] != b_sess[:-1]) | (merchant[1:] != merchant[:-1])])
    order_of_item = np.cumsum(new_order) - 1
    heads = np.flatnonzero(new_order)
    sess = b_sess[heads]
    cust = s_cust[sess]
    n = len(heads)
    slot = s_slot[sess]
    second_instrument = (customers.n_instruments[cust] == 2) & (rng.random(n) < 0.4)
    cell = customers.home_cell[cust].copy()
    address = customers.address[cust].copy()
    gift = rng.random(n) < GIFT_SHARE
    address[gift] = codes.take("addr", int(gift.sum()))
    travelling = rng.random(n) < 0.05
    cell[travelling] = rng.integers(0, int(customers.home_cell.max()) + 1, int(travelling.sum()))
    return Orders.from_items(
        catalogue,
        order_of_item.astype(np.int64),
        b_product,
        customer=cust,
        created_us=s_purchase_at[sess] + SECOND_US,
        device=s_device[sess],
        instrument=customers.instruments[cust, second_instrument.astype(np.int64)],
        ip=customers.ips[cust, slot],
        cell=cell,
        address=address,
        fraud=np.zeros(n, dtype=np.int64),
    )
