"""Fraud decisions by expected cost: approve, send to review, or decline.

For an order of amount ``A`` with calibrated fraud probability ``p``:

* expected fraud loss if approved: ``p * A * loss_given_fraud``
* expected margin lost if declined: ``(1 - p) * margin``, with
  ``margin = margin_rate * A + margin_fixed`` (what the order would have earned).

Exact rule, with the ratio ``r = p * A * loss_given_fraud / ((1 - p) * margin)``:

* **decline** iff ``r > decline_ratio``,
* **review** iff ``review_ratio < r <= decline_ratio``,
* **approve** otherwise.

``decline_ratio`` is never below 1, so the policy never declines an order whose
expected loss does not exceed the margin expected to be lost by declining it
(``p * A * L <= (1 - p) * margin``). The two ratios are chosen on validation data
(:meth:`FraudPolicy.fit`) to maximise the money saved against approving everything,
subject to a maximum review rate and a maximum false-decline rate (share of good
orders declined; Stripe Radar's public target is 0.1%). A review is assumed to
catch a share ``review_detection_rate`` of the fraud it sees and to cost
``review_cost``; reviewed good orders are approved, keeping their margin.

Money saved against approving every order:
``sum over declines of (y * A * L - (1 - y) * margin)
+ sum over reviews of (review_detection_rate * y * A * L - review_cost)``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from cartwise.errors import MetricInputError, ModelBundleError

__all__ = ["FraudCosts", "FraudDecision", "FraudPolicy", "PolicyReport"]

logger = logging.getLogger(__name__)

FraudDecision = Literal["approve", "review", "decline"]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class FraudCosts:
    """The economics of one order; amounts and costs in the same money unit."""

    margin_rate: float = 0.05
    margin_fixed: float = 0.0
    loss_given_fraud: float = 1.0
    review_cost: float = 2.0
    review_detection_rate: float = 0.9

    def __post_init__(self) -> None:
        if self.margin_rate < 0 or self.margin_fixed < 0 or self.margin_rate + self.margin_fixed <= 0:
            raise MetricInputError("margin_rate and margin_fixed must be >= 0 and not both 0")
        if not 0 < self.loss_given_fraud <= 1:
            raise MetricInputError(f"loss_given_fraud must be in (0, 1], got {self.loss_given_fraud}")
        if self.review_cost < 0 or not 0 <= self.review_detection_rate <= 1:
            raise MetricInputError("review_cost must be >= 0 and review_detection_rate in [0, 1]")


@dataclass(frozen=True)
class PolicyReport:
    """What a policy did on labelled orders."""

    n_orders: int
    decline_rate: float
    review_rate: float
    false_decline_rate: float
    fraud_caught_rate: float
    fraud_loss_without_policy: float
    money_saved: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def _inputs(p: Any, amount: Any) -> tuple[FloatArray, FloatArray]:
    prob = np.asarray(p, dtype=np.float64).ravel()
    amt = np.asarray(amount, dtype=np.float64).ravel()
    if prob.shape != amt.shape:
        raise MetricInputError(f"probabilities and amounts differ in length ({prob.size} vs {amt.size})")
    if not np.isfinite(prob).all() or (prob < 0).any() or (prob > 1).any():
        raise MetricInputError(
            "fraud probabilities must be finite and in [0, 1]: use calibrated predict_proba"
        )
    if not np.isfinite(amt).all() or (amt < 0).any():
        raise MetricInputError("order amounts must be finite and non-negative")
    return prob, amt


class FraudPolicy:
    """Expected-cost fraud policy (see the module docstring for the exact rule).

    Parameters
    ----------
    costs: the order economics.
    decline_ratio, review_ratio: fixed thresholds on ``r``; :meth:`fit` chooses them instead.
    max_review_rate, max_false_decline_rate: the constraints :meth:`fit` respects.
    """

    def __init__(
        self,
        costs: FraudCosts | None = None,
        *,
        decline_ratio: float = 1.0,
        review_ratio: float | None = None,
        max_review_rate: float = 0.02,
        max_false_decline_rate: float = 0.001,
        n_grid: int = 200,
    ) -> None:
        self.costs = costs
        self.decline_ratio = decline_ratio
        self.review_ratio = review_ratio
        self.max_review_rate = max_review_rate
        self.max_false_decline_rate = max_false_decline_rate
        self.n_grid = n_grid

    # -- the rule ------------------------------------------------------------
    @property
    def _costs(self) -> FraudCosts:
        return self.costs if self.costs is not None else FraudCosts()

    @property
    def thresholds(self) -> tuple[float, float]:
        """(review_ratio, decline_ratio) in force: the fitted ones if fitted, else the given ones."""
        decline = getattr(self, "decline_ratio_", self.decline_ratio)
        review = getattr(self, "review_ratio_", self.review_ratio)
        review = decline if review is None else min(review, decline)
        if decline < 1.0:
            raise MetricInputError(
                f"decline_ratio {decline} is below 1: the policy would decline orders whose expected "
                "loss is below the margin lost; use a value >= 1"
            )
        return float(review), float(decline)

    def expected_loss(self, p: Any, amount: Any) -> FloatArray:
        prob, amt = _inputs(p, amount)
        return prob * amt * self._costs.loss_given_fraud

    def expected_margin_lost(self, p: Any, amount: Any) -> FloatArray:
        prob, amt = _inputs(p, amount)
        c = self._costs
        return (1.0 - prob) * (c.margin_rate * amt + c.margin_fixed)

    def cost_ratio(self, p: Any, amount: Any) -> FloatArray:
        """``r`` = expected loss / expected margin lost (inf when p = 1)."""
        loss = self.expected_loss(p, amount)
        margin = self.expected_margin_lost(p, amount)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(
                margin > 0, loss / np.where(margin > 0, margin, 1.0), np.where(loss > 0, np.inf, 0.0)
            )
        return np.asarray(r, dtype=np.float64)

    def decide(self, p: Any, amount: Any) -> np.ndarray[Any, np.dtype[np.str_]]:
        """``"approve"`` / ``"review"`` / ``"decline"`` per order."""
        review, decline = self.thresholds
        r = self.cost_ratio(p, amount)
        out = np.full(r.shape, "approve", dtype="<U7")
        out[r > review] = "review"
        out[r > decline] = "decline"
        return out

    def decide_one(self, p: float, amount: float) -> str:
        """:meth:`decide` for one order, in plain floats: the same arithmetic without array overhead."""
        if not (0.0 <= p <= 1.0) or not (0.0 <= amount < math.inf):
            return str(self.decide([p], [amount])[0])  # raises, naming what is wrong
        review, decline = self.thresholds
        c = self._costs
        loss = p * amount * c.loss_given_fraud
        margin = (1.0 - p) * (c.margin_rate * amount + c.margin_fixed)
        r = loss / margin if margin > 0 else (math.inf if loss > 0 else 0.0)
        return "decline" if r > decline else "review" if r > review else "approve"

    # -- choosing thresholds ----------------------------------------------------
    def fit(self, y: Any, p: Any, amount: Any) -> FraudPolicy:
        """Choose (review_ratio, decline_ratio) on labelled validation orders."""
        labels = np.asarray(y, dtype=np.float64).ravel()
        r = self.cost_ratio(p, amount)
        if labels.shape != r.shape or not np.isin(labels, (0.0, 1.0)).all():
            raise MetricInputError("y must hold one 0/1 label per order")
        _, amt = _inputs(p, amount)
        c = self._costs
        margin = c.margin_rate * amt + c.margin_fixed
        loss = labels * amt * c.loss_given_fraud
        n = r.size
        n_good = max(float((1 - labels).sum()), 1.0)

        # Candidate thresholds: quantiles of r (decline ones >= 1), plus "never".
        finite = np.unique(r[np.isfinite(r)])
        qs = np.quantile(finite, np.linspace(0, 1, self.n_grid)) if finite.size else np.array([])
        cands = np.unique(np.concatenate([qs, [1.0, np.inf]]))
        order = np.argsort(-r, kind="stable")
        r_sorted = r[order]
        # counts/sums over rows with r > c, for every candidate c (ascending cands -> counts)
        above = np.searchsorted(-r_sorted, -cands, side="left")  # rows with r > c

        def cum(values: FloatArray) -> FloatArray:
            return np.concatenate([[0.0], np.cumsum(values[order])])[above]

        decl_gain = cum(loss - (1 - labels) * margin)
        rev_gain = cum(c.review_detection_rate * loss - c.review_cost)
        count = cum(np.ones(n))
        goods = cum(1 - labels)

        best = (0.0, np.inf, np.inf)  # (saved, review_ratio, decline_ratio): approve all
        for i, d in enumerate(cands):
            if d < 1.0 or goods[i] / n_good > self.max_false_decline_rate:
                continue
            # review candidates v <= d: saved = decl_gain[i] + rev_gain[j] - rev_gain[i]
            js = np.nonzero(cands <= d)[0]
            ok = (count[js] - count[i]) / n <= self.max_review_rate
            if not ok.any():
                continue
            js = js[ok]
            saved = decl_gain[i] + rev_gain[js] - rev_gain[i]
            k = int(np.argmax(saved))
            if saved[k] > best[0]:
                best = (float(saved[k]), float(cands[js[k]]), float(d))
        self.review_ratio_, self.decline_ratio_ = best[1], max(best[2], 1.0)
        self.validation_report_ = self.evaluate(labels, p, amount)
        logger.info(
            "fraud policy: review r > %.3g, decline r > %.3g, saves %.1f on validation",
            self.review_ratio_,
            self.decline_ratio_,
            best[0],
        )
        return self

    # -- reporting -------------------------------------------------------------
    def evaluate(self, y: Any, p: Any, amount: Any) -> PolicyReport:
        """Money saved, false-decline rate, review rate (see the module docstring)."""
        labels = np.asarray(y, dtype=np.float64).ravel()
        prob, amt = _inputs(p, amount)
        if labels.shape != prob.shape:
            raise MetricInputError("y must hold one 0/1 label per order")
        c = self._costs
        decision = self.decide(prob, amt)
        margin = c.margin_rate * amt + c.margin_fixed
        loss = labels * amt * c.loss_given_fraud
        dec, rev = decision == "decline", decision == "review"
        n_good = max(float((1 - labels).sum()), 1.0)
        total_loss = float(loss.sum())
        caught = float(loss[dec].sum() + c.review_detection_rate * loss[rev].sum())
        saved = float(
            (loss[dec] - (1 - labels[dec]) * margin[dec]).sum()
            + (c.review_detection_rate * loss[rev] - c.review_cost).sum()
        )
        return PolicyReport(
            n_orders=int(labels.size),
            decline_rate=float(dec.mean()),
            review_rate=float(rev.mean()),
            false_decline_rate=float(((1 - labels) * dec).sum() / n_good),
            fraud_caught_rate=caught / total_loss if total_loss else 0.0,
            fraud_loss_without_policy=total_loss,
            money_saved=saved,
        )

    # -- (de)serialising ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        review, decline = self.thresholds
        return {
            "costs": asdict(self._costs),
            "review_ratio": None if np.isinf(review) else review,
            "decline_ratio": None if np.isinf(decline) else decline,
            "max_review_rate": self.max_review_rate,
            "max_false_decline_rate": self.max_false_decline_rate,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> FraudPolicy:
        try:
            decline = state["decline_ratio"]
            review = state["review_ratio"]
            return cls(
                FraudCosts(**state["costs"]),
                decline_ratio=np.inf if decline is None else float(decline),
                review_ratio=np.inf if review is None else float(review),
                max_review_rate=float(state["max_review_rate"]),
                max_false_decline_rate=float(state["max_false_decline_rate"]),
            )
        except (KeyError, TypeError) as exc:
            raise ModelBundleError(
                f"fraud policy state is incomplete ({exc!r}): save it with to_dict()"
            ) from exc
