"""Reason codes: the feature groups that pushed a fraud score up, from TreeSHAP.

XGBoost computes exact TreeSHAP contributions (``pred_contribs=True``): per row,
one log-odds contribution per feature plus a bias, summing to the raw margin.
Features are mapped to stable *reason codes* (one per feature group, e.g.
``F_DEVICE_VELOCITY``) by ordered regular-expression rules on the feature name;
the contributions of a group's features are added up, and the groups with the
largest positive totals are the reasons. Codes and texts are stable across
retrainings, so operations teams and customers see the same vocabulary whatever
features a model version uses. Ties are broken by the code, alphabetically.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartwise.errors import FeatureError

__all__ = ["DEFAULT_RULES", "OTHER", "Reason", "ReasonCodes"]

logger = logging.getLogger(__name__)

OTHER = "F_OTHER"

DEFAULT_RULES: tuple[tuple[str, str, str], ...] = (
    # (pattern on the feature name, code, text); the first matching rule wins, so the specific
    # rules come before the broad per-entity ones
    (
        r"(chargeback|fraud).*(merchant|terminal)|(merchant|terminal).*(chargeback|fraud|risk)",
        "F_MERCHANT_FRAUD_RATE",
        "Merchant has a high rate of reported fraud",
    ),
    (r"^customer.*(fraud|chargeback)", "F_CUSTOMER_FRAUD_HISTORY", "Customer has earlier fraud reports"),
    (
        r"^(device|ip|shipping_address|address|payment_instrument|instrument)__\w*count_distinct|shared|accounts",
        "F_SHARED_IDENTITY",
        "Device, network, address or card shared across many accounts or cards",
    ),
    (
        r"^customer_(device|shipping_address|payment_instrument|ip)__",
        "F_NEW_IDENTITY",
        "Device, address or card new for this customer",
    ),
    (
        r"^customer__(device|shipping_address|payment_instrument|ip)\w*__count_distinct",
        "F_IDENTITY_CHANGES",
        "Customer used many different devices, addresses or cards recently",
    ),
    (r"tenure|created_at|account_age", "F_ACCOUNT_AGE", "New account"),
    (
        r"^customer__(views|add_to_carts|purchases|products_seen|sessions)__",
        "F_BROWSING",
        "Unusual browsing before the order",
    ),
    (r"amount_(to|over)_merchant", "F_AMOUNT_VS_MERCHANT", "Amount unusual for this merchant"),
    (
        r"^customer.*(amount_ratio|spike|(max|mean)_\w+_over_)",
        "F_CUSTOMER_SPEND",
        "Customer's recent spending pattern",
    ),
    (
        r"amount.*(ratio|_vs_|relative|zscore|spike|over|_to_)",
        "F_AMOUNT_VS_HISTORY",
        "Amount unusual for this customer",
    ),
    (r"^device", "F_DEVICE_VELOCITY", "Many orders from this device recently"),
    (r"instrument|card", "F_INSTRUMENT_VELOCITY", "Many orders with this payment instrument recently"),
    (r"^ip__", "F_IP_VELOCITY", "Many orders from this network address recently"),
    (
        r"^(shipping_)?address__",
        "F_ADDRESS_VELOCITY",
        "Many orders to this shipping address recently",
    ),
    (r"^(merchant|terminal)", "F_MERCHANT_VELOCITY", "Unusual order volume at this merchant"),
    (r"^customer.*amount", "F_CUSTOMER_SPEND", "Customer's recent spending pattern"),
    (r"^customer|since_last_checkout", "F_CUSTOMER_VELOCITY", "Many orders from this customer recently"),
    (r"amount", "F_AMOUNT", "High order amount"),
    (r"hour|night|weekend|time|day", "F_TIME_OF_DAY", "Order placed at an unusual time"),
)
"""Rules for cartwise's feature names (``{entity}__{column}__{function}__{window}`` and on-demand names)."""


@dataclass(frozen=True)
class Reason:
    """One reason behind a score: the code, its text, and its log-odds contribution."""

    code: str
    text: str
    contribution: float


@dataclass(frozen=True)
class ReasonCodes:
    """A resolved map from each model feature to its reason code, and each code's text."""

    feature_codes: dict[str, str]
    texts: dict[str, str]

    @classmethod
    def from_rules(
        cls, feature_names: Sequence[str], rules: Sequence[tuple[str, str, str]] = DEFAULT_RULES
    ) -> ReasonCodes:
        """Give each feature the code of the first rule whose pattern it matches, else ``F_OTHER``."""
        compiled = [(re.compile(pattern, re.IGNORECASE), code, text) for pattern, code, text in rules]
        codes: dict[str, str] = {}
        texts: dict[str, str] = {OTHER: "Other risk signals"}
        for name in feature_names:
            for pattern, code, text in compiled:
                if pattern.search(name):
                    codes[name] = code
                    texts[code] = text
                    break
            else:
                codes[name] = OTHER
        return cls(codes, texts)

    def to_dict(self) -> dict[str, Any]:
        return {"feature_codes": dict(self.feature_codes), "texts": dict(self.texts)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ReasonCodes:
        return cls(dict(state["feature_codes"]), dict(state["texts"]))

    def explain(self, contributions: pd.DataFrame, *, top_n: int = 3) -> list[list[Reason]]:
        """Top ``top_n`` reasons per row from a TreeSHAP frame (feature columns, optional ``bias``).

        Only groups with a positive total (pushing towards fraud) are reasons.
        """
        missing = [f for f in self.feature_codes if f not in contributions.columns]
        if missing:
            raise FeatureError(f"contributions lack the features {missing} that the reason map covers")
        codes = sorted(set(self.feature_codes.values()))
        grouped = np.zeros((len(contributions), len(codes)))
        index = {code: i for i, code in enumerate(codes)}
        for feature, code in self.feature_codes.items():
            grouped[:, index[code]] += contributions[feature].to_numpy(dtype=np.float64)
        out: list[list[Reason]] = []
        # lexsort: last key primary -> descending contribution, then code name
        code_rank = np.arange(len(codes))
        for row in grouped:
            order = np.lexsort((code_rank, -row))
            reasons = [
                Reason(codes[i], self.texts.get(codes[i], codes[i]), float(row[i]))
                for i in order[:top_n]
                if row[i] > 0
            ]
            out.append(reasons)
        return out
