"""The simulator's settings: one frozen dataclass, checked when it is built."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cartwise.errors import ConfigError

__all__ = ["DEFAULT_START", "SimulationConfig"]

DEFAULT_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. The defaults are the demo size (about 2M events, 70k checkouts).

    ``customers`` counts genuine accounts; fraudsters' accounts (card testers, rings,
    synthetic identities) come on top of them.
    """

    customers: int = 50_000
    days: int = 120
    seed: int = 42
    start: dt.datetime = DEFAULT_START
    drift_start_day: int | None = None
    """First day of the drift (new fraud pattern, shifted customer mix); None → 80% of ``days``."""
    merchants: int = 300
    products: int = 6_000
    currency: str = "USD"
    sessions_per_day: float = 0.07
    """Mean browsing sessions per customer per day (each customer's own rate varies around it)."""
    new_customer_share: float = 0.10
    """Share of ``customers`` who sign up during the period, before the drift."""
    drift_new_customer_share: float = 0.25
    """Share of ``customers`` who sign up after the drift day (a campaign), from the shifted mix."""
    account_takeover_rate: float = 0.0010
    """Taken-over accounts per legitimate checkout (each yields a burst of 2-4 orders)."""
    card_testing_rate: float = 0.00025
    """Card-testing attacks per legitimate checkout (each: 8-20 small orders, then a larger one)."""
    fraud_ring_rate: float = 0.00015
    """Fraud rings per legitimate checkout (each: 4-8 accounts sharing devices and addresses)."""
    compromised_merchants: int = 2
    compromised_fraud_share: float = 0.4
    """Share of a compromised merchant's orders that are fraud during its window."""
    synthetic_identity_rate: float = 0.015
    """Synthetic-identity orders per legitimate checkout after the drift day."""
    chargeback_unreported_share: float = 0.05
    """Share of fraud orders whose chargeback never comes."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.customers < 100:
            problems.append(f"customers must be at least 100 (got {self.customers})")
        if self.seed < 0:
            problems.append(f"seed must be a non-negative integer (got {self.seed})")
        if self.days < 7:
            problems.append(f"days must be at least 7 (got {self.days})")
        if self.merchants < 12 or self.products < self.merchants:
            problems.append(
                f"need at least 12 merchants and at least as many products as merchants "
                f"(got {self.merchants} merchants, {self.products} products)"
            )
        if self.start.tzinfo is None or self.start.utcoffset() != dt.timedelta(0):
            problems.append(f"start must be a UTC datetime (got {self.start!r})")
        if self.drift_start_day is not None and not 1 <= self.drift_start_day <= self.days:
            problems.append(
                f"drift_start_day must be between 1 and days={self.days} (got {self.drift_start_day})"
            )
        if self.sessions_per_day <= 0:
            problems.append(f"sessions_per_day must be positive (got {self.sessions_per_day})")
        shares = {
            "new_customer_share": self.new_customer_share,
            "drift_new_customer_share": self.drift_new_customer_share,
            "compromised_fraud_share": self.compromised_fraud_share,
            "chargeback_unreported_share": self.chargeback_unreported_share,
        }
        problems += [f"{k} must be in [0, 1) (got {v})" for k, v in shares.items() if not 0 <= v < 1]
        if self.new_customer_share + self.drift_new_customer_share >= 1:
            problems.append("new_customer_share + drift_new_customer_share must stay below 1")
        rates = {
            "account_takeover_rate": self.account_takeover_rate,
            "card_testing_rate": self.card_testing_rate,
            "fraud_ring_rate": self.fraud_ring_rate,
            "synthetic_identity_rate": self.synthetic_identity_rate,
        }
        problems += [f"{k} must be non-negative (got {v})" for k, v in rates.items() if v < 0]
        if self.compromised_merchants < 0:
            problems.append(f"compromised_merchants must be non-negative (got {self.compromised_merchants})")
        if problems:
            raise ConfigError("invalid simulation settings: " + "; ".join(problems))

    @property
    def drift_day(self) -> int:
        """The day (0-based from ``start``) the drift begins."""
        if self.drift_start_day is not None:
            return self.drift_start_day
        return round(self.days * 0.8)

    @property
    def end(self) -> dt.datetime:
        """The moment the data ends: every row and every label is known as of it."""
        return self.start + dt.timedelta(days=self.days)
