"""Credit decision and limit policy: approve, plan options and limit by expected profit.

For an applicant with probability of default ``PD`` (per plan option, since plan length is a
model input) asking for ``amount`` on a plan, per unit of amount:

* revenue    ``r = merchant_fee_rate x fee_multiplier(plan)``
* funding    ``c = funding_cost_annual x exposure(plan) x duration_years(plan) / 2``
  (the balance falls roughly linearly, so on average half of it is outstanding)
* loss rate  ``el = PD x loss_given_default x exposure(plan)``, where ``exposure`` is the share
  of the amount still owed after checkout (pay-in-4 collects the first installment at checkout:
  0.75; monthly plans: 1.0)

Expected profit is ``amount x (r - c - el)``. A plan *qualifies* when ``r - c - el > 0`` and
``el <= risk_appetite`` (the configured maximum expected loss rate).

Because profit and loss are linear in the amount at a given PD, neither bounds the amount by
itself; the limit comes from an expected-loss budget per applicant (closed form): the
largest amount whose expected loss stays within ``max_expected_loss_minor``,
``limit = floor(max_expected_loss_minor / (PD x LGD x exposure))``, capped at
``max_limit_minor`` (and zero below ``min_limit_minor``). Riskier applicants thus get
smaller limits, in inverse proportion to their expected loss rate.

The order is approved on the plans that qualify and whose limit covers the amount; the
approved limit is the largest over qualifying plans. Otherwise it is declined, and the caller
attaches the adverse-action reasons (the model's, plus ``AMOUNT_OVER_LIMIT`` when plans qualified
but none covers the amount). Parameters are a frozen dataclass saved with the model bundle.

Default economics: the merchant fee is each merchant's own ``fee_rate`` when given (4 % otherwise);
LGD 0.5 of the exposure, because the PD is of reaching 60 days past due, not of a write-off — a
defaulting shopper has usually paid part of the plan (on the simulator about a third of a pay-in-4
order is paid before default) and collections recover part of the rest; funding costs 6 % a year;
the appetite caps the expected loss rate at 5 % of the amount. On the simulator's demo data, with
calibrated PDs, this approves about three quarters of orders (a pay-later lender typically
approves 70-90 %), each at a positive expected profit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cartwise.domain.schemas import PLAN_TYPES
from cartwise.errors import ConfigError, MetricInputError

__all__ = [
    "AMOUNT_OVER_LIMIT",
    "DEFAULT_PLAN_TERMS",
    "CreditPolicy",
    "CreditPolicyParams",
    "PlanTerms",
]

logger = logging.getLogger(__name__)

AMOUNT_OVER_LIMIT = ("CP01", "Amount of credit requested exceeds the credit limit available")
"""Policy reason code given when plans qualify but none covers the requested amount."""


@dataclass(frozen=True)
class PlanTerms:
    """Economics of one installment plan."""

    plan_type: str
    n_installments: int
    interval_days: int
    exposure_fraction: float
    fee_multiplier: float

    def installment_amounts(self, amount_minor: int) -> tuple[int, ...]:
        """The plan's installments for ``amount_minor``, summing to it exactly.

        Every installment gets the floor share and the first ones carry the remainder, one minor
        unit each: the rule the installment ledger uses (``split_amounts`` in the simulator).
        """
        if amount_minor < 0:
            raise MetricInputError(
                f"amount_minor={amount_minor} is negative; give the order amount in minor units"
            )
        base, remainder = divmod(int(amount_minor), self.n_installments)
        return tuple(base + 1 if k < remainder else base for k in range(self.n_installments))

    @property
    def duration_years(self) -> float:
        """Time from checkout to the last installment, in years."""
        first_at_checkout = self.exposure_fraction < 1.0
        n_after = self.n_installments - 1 if first_at_checkout else self.n_installments
        return n_after * self.interval_days / 365.0


DEFAULT_PLAN_TERMS: tuple[PlanTerms, ...] = (
    PlanTerms("pay_in_4", 4, 14, 0.75, 1.0),
    PlanTerms("pay_monthly_3", 3, 30, 1.0, 1.25),
    PlanTerms("pay_monthly_6", 6, 30, 1.0, 1.5),
    PlanTerms("pay_monthly_12", 12, 30, 1.0, 2.0),
)


@dataclass(frozen=True)
class CreditPolicyParams:
    """Risk appetite and economics of the credit policy (stored with the model)."""

    merchant_fee_rate: float = 0.04
    loss_given_default: float = 0.5
    risk_appetite: float = 0.05
    funding_cost_annual: float = 0.06
    max_expected_loss_minor: int = 2_500
    max_limit_minor: int = 250_000
    min_limit_minor: int = 1_000
    plans: tuple[PlanTerms, ...] = field(default=DEFAULT_PLAN_TERMS)

    def __post_init__(self) -> None:
        checks = {
            "merchant_fee_rate": (0.0, 1.0),
            "loss_given_default": (0.0, 1.0),
            "risk_appetite": (0.0, 1.0),
            "funding_cost_annual": (0.0, 1.0),
        }
        for name, (lo, hi) in checks.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ConfigError(f"credit policy {name}={value!r} must lie in [{lo}, {hi}]")
        if self.max_expected_loss_minor <= 0 or self.max_limit_minor <= 0 or self.min_limit_minor < 0:
            raise ConfigError(
                "credit policy max_expected_loss_minor and max_limit_minor must be positive and "
                "min_limit_minor non-negative (amounts in minor units)"
            )
        if not self.plans:
            raise ConfigError("credit policy needs at least one plan in plans=(PlanTerms(...), ...)")
        for p in self.plans:
            if p.plan_type not in PLAN_TYPES:
                raise ConfigError(f"credit policy plan {p.plan_type!r} is not one of {PLAN_TYPES}")
            if not 0.0 < p.exposure_fraction <= 1.0 or p.fee_multiplier < 0 or p.n_installments < 1:
                raise ConfigError(
                    f"credit policy plan {p.plan_type!r}: exposure_fraction must be in (0, 1], "
                    "fee_multiplier >= 0 and n_installments >= 1"
                )

    @property
    def plan_types(self) -> tuple[str, ...]:
        return tuple(p.plan_type for p in self.plans)

    def with_appetite(self, risk_appetite: float) -> CreditPolicyParams:
        return replace(self, risk_appetite=risk_appetite)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CreditPolicyParams:
        try:
            values = dict(data)
            values["plans"] = tuple(PlanTerms(**p) for p in values.get("plans", ()))
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(
                f"credit policy parameters are malformed ({exc}); save them with to_dict()"
            ) from exc


class CreditPolicy:
    """Applies :class:`CreditPolicyParams` to PDs and requested amounts (vectorised)."""

    def __init__(self, params: CreditPolicyParams | None = None) -> None:
        self.params = params or CreditPolicyParams()

    def _pd_matrix(self, pd_: Any, n: int | None = None) -> np.ndarray:
        p = np.asarray(pd_, dtype=np.float64)
        k = len(self.params.plans)
        if p.ndim == 1:
            p = np.repeat(p[:, None], k, axis=1)
        if p.ndim != 2 or p.shape[1] != k:
            raise MetricInputError(
                f"PD must be (n,) or (n, {k}) — one column per plan {self.params.plan_types}; got shape {p.shape}"
            )
        if n is not None and p.shape[0] != n:
            raise MetricInputError(f"PD has {p.shape[0]} rows but there are {n} requested amounts")
        if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
            raise MetricInputError("PD values must be finite probabilities in [0, 1]")
        return p

    def rates(self, pd_: Any, fee_rate: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Per applicant and plan: (margin rate r - c - el, expected loss rate el), per unit amount."""
        p = self._pd_matrix(pd_)
        prm = self.params
        fee = (
            np.full(p.shape[0], prm.merchant_fee_rate)
            if fee_rate is None
            else np.asarray(fee_rate, np.float64)
        )
        fee = np.broadcast_to(fee, (p.shape[0],))
        exposure = np.array([t.exposure_fraction for t in prm.plans])
        revenue = fee[:, None] * np.array([t.fee_multiplier for t in prm.plans])[None, :]
        funding = prm.funding_cost_annual * exposure * np.array([t.duration_years for t in prm.plans]) / 2.0
        el = p * prm.loss_given_default * exposure[None, :]
        return revenue - funding[None, :] - el, el

    def limits(self, pd_: Any) -> np.ndarray:
        """Closed-form limit per applicant and plan (minor units), before the qualification test."""
        _, el = self.rates(pd_)
        prm = self.params
        with np.errstate(divide="ignore"):
            raw = np.where(el > 0, np.floor(prm.max_expected_loss_minor / np.maximum(el, 1e-300)), np.inf)
        lim = np.minimum(raw, prm.max_limit_minor)
        return np.where(lim >= prm.min_limit_minor, lim, 0.0).astype(np.int64)

    def decide(self, pd_: Any, amount_minor: Any, fee_rate: Any = None) -> pd.DataFrame:
        """One row per applicant: decision, approved plans, limit, best plan and its expected profit."""
        amount = np.asarray(amount_minor, dtype=np.float64).ravel()
        if (amount <= 0).any() or not np.isfinite(amount).all():
            raise MetricInputError("requested amounts must be positive finite numbers in minor units")
        p = self._pd_matrix(pd_, len(amount))
        margin, el = self.rates(p, fee_rate)
        limits = self.limits(p)
        qualifies = (margin > 0) & (el <= self.params.risk_appetite) & (limits > 0)
        covers = qualifies & (limits >= amount[:, None])
        profit = amount[:, None] * margin
        plan_names = np.array(self.params.plan_types, dtype=object)

        approved_plans = [list(plan_names[row]) for row in covers]
        masked_profit = np.where(covers, profit, -np.inf)
        best = np.argmax(masked_profit, axis=1)
        any_cover = covers.any(axis=1)
        limit = np.where(qualifies, limits, 0).max(axis=1)
        rows = np.arange(len(amount))
        out = pd.DataFrame(
            {
                "decision": np.where(any_cover, "approve", "decline"),
                "approved_plans": approved_plans,
                "best_plan": np.where(any_cover, plan_names[best], None),
                "limit_minor": limit.astype(np.int64),
                "expected_profit_minor": np.where(any_cover, profit[rows, best], 0.0),
                "expected_loss_rate": np.where(any_cover, el[rows, best], el.min(axis=1)),
                "any_plan_qualifies": qualifies.any(axis=1),
                "amount_over_limit": qualifies.any(axis=1) & ~any_cover,
            }
        )
        return out

    def realised_profit(
        self, decisions: pd.DataFrame, amount_minor: Any, defaulted: Any, fee_rate: Any = None
    ) -> float:
        """Profit actually earned by the approved orders on their best plan, given the outcomes."""
        amount = np.asarray(amount_minor, dtype=np.float64)
        d = np.asarray(defaulted, dtype=np.float64)
        prm = self.params
        fee = np.broadcast_to(
            np.full(len(amount), prm.merchant_fee_rate)
            if fee_rate is None
            else np.asarray(fee_rate, np.float64),
            (len(amount),),
        )
        terms = {t.plan_type: t for t in prm.plans}
        total = 0.0
        approved = decisions["decision"].to_numpy() == "approve"
        best_plans = decisions["best_plan"].to_numpy()
        for i in np.flatnonzero(approved):
            t = terms[str(best_plans[i])]
            revenue = (
                fee[i] * t.fee_multiplier
                - prm.funding_cost_annual * t.exposure_fraction * t.duration_years / 2
            )
            total += amount[i] * (revenue - d[i] * prm.loss_given_default * t.exposure_fraction)
        return float(total)
