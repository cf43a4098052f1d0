"""Shoppers: observable attributes and the latent traits that drive their behaviour.

Latent traits (income, repayment capacity, late-payment tendency, price sensitivity,
category tastes, activity) never reach the warehouse; only their consequences do.
Age band and gender are recorded and shape income (as they do in real data), but no
label is drawn from them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cartwise.data.simulator.arrow_columns import timestamps
from cartwise.data.simulator.identity import CELLS_PER_REGION, REGIONS, CodeAllocator
from cartwise.domain.schemas import TABLES

__all__ = [
    "AGE_BANDS",
    "EMAIL_DOMAINS",
    "GENDERS",
    "SEGMENTS",
    "Customers",
    "SegmentMix",
    "concat_customers",
    "draw_customers",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SEGMENTS = ("established", "young_urban", "affluent", "thin_file")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "undisclosed")
EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "aol.com", "proton.me",
    "quickinbox.net", "mailnow.io",
)  # fmt: skip
_EMAIL_P = np.array([0.46, 0.14, 0.13, 0.12, 0.07, 0.04, 0.04, 0.0, 0.0])
DISPOSABLE_DOMAINS = (7, 8)
"""Indices of throwaway e-mail domains, which fraudsters' accounts favour."""

# Age within segment and age's own pull on income are kept mild: between the extreme age
# bands default rates differ by well under 2x, as in real lending data, and only through
# income and capacity.
_AGE_GIVEN_SEGMENT = np.array(
    [
        [0.10, 0.22, 0.26, 0.22, 0.14, 0.06],  # established
        [0.22, 0.38, 0.22, 0.11, 0.05, 0.02],  # young_urban
        [0.05, 0.17, 0.27, 0.26, 0.18, 0.07],  # affluent
        [0.22, 0.22, 0.17, 0.13, 0.13, 0.13],  # thin_file
    ]
)
_SEGMENT_INCOME = np.log(np.array([4200.0, 2900.0, 8500.0, 2100.0]))
_AGE_INCOME = np.array([-0.08, 0.0, 0.04, 0.05, 0.03, -0.05])
_GENDER_INCOME = np.array([-0.07, 0.0, 0.0])
_SEGMENT_CAPACITY = np.array([0.4, 0.0, 0.5, -0.6])
_SEGMENT_ACTIVITY = np.array([1.0, 1.3, 0.8, 0.9])
# Category taste tilts per segment, in CATEGORIES order:
# electronics fashion shoes beauty home furniture sports toys books grocery jewelry gaming
_TASTE_TILT = np.array(
    [
        [1.0, 1.0, 0.9, 1.0, 1.6, 1.4, 1.0, 1.3, 1.3, 1.4, 0.7, 0.6],
        [1.4, 1.7, 1.4, 1.3, 0.7, 0.5, 1.1, 0.4, 0.8, 0.8, 0.6, 1.6],
        [1.3, 1.1, 1.0, 1.1, 1.2, 1.6, 1.0, 0.8, 1.0, 0.8, 1.8, 0.7],
        [1.3, 1.3, 1.0, 1.0, 0.8, 0.6, 0.8, 0.6, 0.7, 1.4, 0.5, 1.5],
    ]
)
_REGION_P = np.array([w for _, _, w in REGIONS]) / sum(w for _, _, w in REGIONS)
_LOG_REFERENCE_INCOME = np.log(3500.0)


@dataclass(frozen=True)
class SegmentMix:
    """Who signs up: the probability of each segment, in SEGMENTS order."""

    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class Customers:
    """Every account, one entry per row (index = position before the final id assignment)."""

    created_us: IntArray
    segment: IntArray
    age_band: IntArray
    gender: IntArray
    region: IntArray
    email_domain: IntArray
    monthly_income: FloatArray
    capacity: FloatArray
    """Repayment capacity in (0, 1): high means payments are rarely missed."""
    late_tendency: FloatArray
    """A persistent habit of paying late (standard normal), shared by all of a customer's plans."""
    price_sensitivity: FloatArray
    tastes: FloatArray
    """Category preferences, one Dirichlet draw per customer (rows sum to 1)."""
    tier_preference: FloatArray
    """Preference for budget, mid and premium products (rows sum to 1)."""
    activity: FloatArray
    """Browsing sessions per day."""
    devices: IntArray
    """Two device codes per customer; the second is used only if ``n_devices`` is 2."""
    n_devices: IntArray
    instruments: IntArray
    n_instruments: IntArray
    ips: IntArray
    home_cell: IntArray
    address: IntArray
    genuine: BoolArray
    """False for accounts that fraudsters created."""

    def __len__(self) -> int:
        return len(self.created_us)

    def table(self, customer_ids: IntArray) -> pa.Table:
        """The customers table, rows in id order (``customer_ids[i]`` is row i's id)."""
        order = np.argsort(customer_ids)
        table = pa.table(
            {
                "customer_id": customer_ids[order],
                "created_at": timestamps(self.created_us[order]),
                "home_region": pa.array([r for r, _, _ in REGIONS]).take(pa.array(self.region[order])),
                "email_domain": pa.array(list(EMAIL_DOMAINS)).take(pa.array(self.email_domain[order])),
                "age_band": pa.array(list(AGE_BANDS)).take(pa.array(self.age_band[order])),
                "gender": pa.array(list(GENDERS)).take(pa.array(self.gender[order])),
                "segment": pa.array(list(SEGMENTS)).take(pa.array(self.segment[order])),
            }
        )
        return table.cast(TABLES["customers"].schema)


def draw_customers(
    rng: np.random.Generator,
    created_us: IntArray,
    mix: SegmentMix,
    codes: CodeAllocator,
    *,
    genuine: bool = True,
    disposable_email_share: float = 0.0,
    activity_boost: float = 1.0,
) -> Customers:
    """Customers created at ``created_us``, their segments drawn from ``mix``."""
    n = len(created_us)
    segment = rng.choice(len(SEGMENTS), n, p=np.asarray(mix.probabilities))
    u = rng.random(n)
    cum = np.cumsum(_AGE_GIVEN_SEGMENT, axis=1)[segment]
    age_band = np.minimum((cum < u[:, None]).sum(axis=1), len(AGE_BANDS) - 1)
    gender = rng.choice(len(GENDERS), n, p=[0.5, 0.48, 0.02])
    log_income = (
        _SEGMENT_INCOME[segment] + _AGE_INCOME[age_band] + _GENDER_INCOME[gender] + rng.normal(0, 0.45, n)
    )
    capacity = _sigmoid(
        1.3 * (log_income - _LOG_REFERENCE_INCOME) + _SEGMENT_CAPACITY[segment] + rng.normal(0, 0.7, n)
    )
    price_sensitivity = _sigmoid(-1.1 * (log_income - _LOG_REFERENCE_INCOME) + rng.normal(0, 0.6, n))
    alpha = 0.5 * _TASTE_TILT[segment]
    tastes = rng.gamma(alpha)
    tastes /= tastes.sum(axis=1, keepdims=True)
    tier_pref = np.stack(
        [0.15 + 0.85 * price_sensitivity, np.full(n, 0.6), 0.15 + 0.85 * (1 - price_sensitivity)], axis=1
    )
    tier_pref /= tier_pref.sum(axis=1, keepdims=True)
    activity = rng.gamma(1.2, 1 / 1.2, n) * _SEGMENT_ACTIVITY[segment] * activity_boost
    region = rng.choice(len(REGIONS), n, p=_REGION_P)
    email = rng.choice(len(EMAIL_DOMAINS), n, p=_EMAIL_P)
    if disposable_email_share > 0:
        throwaway = rng.random(n) < disposable_email_share
        email[throwaway] = rng.choice(DISPOSABLE_DOMAINS, int(throwaway.sum()))
    return Customers(
        created_us=created_us.astype(np.int64),
        segment=segment.astype(np.int64),
        age_band=age_band.astype(np.int64),
        gender=gender.astype(np.int64),
        region=region.astype(np.int64),
        email_domain=email.astype(np.int64),
        monthly_income=np.exp(log_income),
        capacity=capacity,
        late_tendency=rng.normal(0, 1, n),
        price_sensitivity=price_sensitivity,
        tastes=tastes,
        tier_preference=tier_pref,
        activity=activity,
        devices=codes.take("dev", 2 * n).reshape(n, 2),
        n_devices=1 + (rng.random(n) < 0.45).astype(np.int64),
        instruments=codes.take("pi", 2 * n).reshape(n, 2),
        n_instruments=1 + (rng.random(n) < 0.3).astype(np.int64),
        ips=codes.take("ip", 2 * n).reshape(n, 2),
        home_cell=(region * CELLS_PER_REGION + rng.integers(0, CELLS_PER_REGION, n)).astype(np.int64),
        address=codes.take("addr", n),
        genuine=np.full(n, genuine),
    )


def concat_customers(parts: list[Customers]) -> Customers:
    """One population from several draws, in the order given."""
    return Customers(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Customers)}
    )


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out
