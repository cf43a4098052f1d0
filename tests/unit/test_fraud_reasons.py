"""Reason codes: rule mapping, grouping of TreeSHAP contributions, stable ordering."""

from __future__ import annotations

import pandas as pd

from cartwise.models.fraud.reasons import OTHER, ReasonCodes


def test_cartwise_feature_names_map_to_stable_codes() -> None:
    codes = ReasonCodes.from_rules(
        [
            "device__checkouts__count__1h",
            "payment_instrument__checkouts__count__24h",
            "merchant__chargebacks__count__30d",
            "merchant_fraud_rate_14d",
            "device__customer_id__count_distinct__30d",
            "amount_over_customer_mean_30d",
            "customer__checkouts__count__1d",
            "customer__amount_minor__mean__7d",
            "tx_amount",
            "tx_during_night",
            "mystery",
        ]
    ).feature_codes
    assert codes == {
        "device__checkouts__count__1h": "F_DEVICE_VELOCITY",
        "payment_instrument__checkouts__count__24h": "F_INSTRUMENT_VELOCITY",
        "merchant__chargebacks__count__30d": "F_MERCHANT_FRAUD_RATE",
        "merchant_fraud_rate_14d": "F_MERCHANT_FRAUD_RATE",
        "device__customer_id__count_distinct__30d": "F_SHARED_IDENTITY",
        "amount_over_customer_mean_30d": "F_AMOUNT_VS_HISTORY",
        "customer__checkouts__count__1d": "F_CUSTOMER_VELOCITY",
        "customer__amount_minor__mean__7d": "F_CUSTOMER_SPEND",
        "tx_amount": "F_AMOUNT",
        "tx_during_night": "F_TIME_OF_DAY",
        "mystery": OTHER,
    }


def test_explain_sums_groups_keeps_positive_and_breaks_ties_by_code() -> None:
    codes = ReasonCodes(
        {"a1": "F_A", "a2": "F_A", "b": "F_B", "c": "F_C", "d": "F_D"},
        {"F_A": "group a", "F_B": "group b", "F_C": "group c", "F_D": "group d"},
    )
    contribs = pd.DataFrame(
        {
            "a1": [0.4, -1.0],
            "a2": [0.3, 0.0],
            "b": [0.7, 0.2],
            "c": [0.9, -0.1],
            "d": [-2.0, 0.2],
            "bias": [-3.0, -3.0],
        }
    )
    first, second = codes.explain(contribs, top_n=3)
    # row 1: A = .7 ties B = .7 -> F_A before F_B; C .9 leads; D negative is never a reason
    assert [(r.code, round(r.contribution, 6)) for r in first] == [("F_C", 0.9), ("F_A", 0.7), ("F_B", 0.7)]
    assert first[0].text == "group c"
    # row 2: only B and D push towards fraud (tie -> alphabetical)
    assert [r.code for r in second] == ["F_B", "F_D"]


def test_round_trip() -> None:
    codes = ReasonCodes.from_rules(["tx_amount", "device__checkouts__count__1h"])
    assert ReasonCodes.from_dict(codes.to_dict()) == codes
