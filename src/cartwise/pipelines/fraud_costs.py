"""The marketplace's fraud economics, in the warehouse's money unit (minor units, e.g. cents).

A manual review costs an analyst a few minutes: 300 minor units (3.00) per
reviewed order. Without this, costs given in whole currency units would make a
review look almost free next to amounts in cents, and the policy would send
every faintly unusual order to review.
"""

from __future__ import annotations

from cartwise.decisions.fraud_policy import FraudCosts

__all__ = ["MARKETPLACE_FRAUD_COSTS"]

MARKETPLACE_FRAUD_COSTS = FraudCosts(
    margin_rate=0.05,
    margin_fixed=0.0,
    loss_given_fraud=1.0,
    review_cost=300.0,
    review_detection_rate=0.9,
)
