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


def test_every_catalog_fraud_feature_has_a_stable_reason_code() -> None:
    from cartwise.features.catalog import FRAUD_FEATURES

    names = FRAUD_FEATURES.feature_names
    codes = ReasonCodes.from_rules(names)
    unmapped = sorted(n for n in names if codes.feature_codes[n] == OTHER)
    assert not unmapped, f"catalog fraud features without a reason code: {unmapped}"
    for code in set(codes.feature_codes.values()):
        assert codes.texts[code]
        assert codes.texts[code] != code


def test_catalog_fraud_features_get_the_code_of_their_signal() -> None:
    # one feature per view or on-demand feature of the catalog, each where an analyst would file it
    expected = {
        "customer__checkouts__count__24h": "F_CUSTOMER_VELOCITY",
        "customer__amount_minor__sum__7d": "F_CUSTOMER_SPEND",
        "customer__previous_amount_minor__last__30d": "F_CUSTOMER_SPEND",
        "customer__last_checkout_us__max__all": "F_CUSTOMER_VELOCITY",
        "seconds_since_last_checkout": "F_CUSTOMER_VELOCITY",
        "device__checkouts__count__1h": "F_DEVICE_VELOCITY",
        "payment_instrument__amount_minor__sum__24h": "F_INSTRUMENT_VELOCITY",
        "ip__checkouts__count__10m": "F_IP_VELOCITY",
        "ip__amount_minor__sum__1h": "F_IP_VELOCITY",
        "shipping_address__amount_minor__sum__7d": "F_ADDRESS_VELOCITY",
        "merchant__amount_minor__mean__30d": "F_MERCHANT_VELOCITY",
        "device__customer_id__count_distinct__24h": "F_SHARED_IDENTITY",
        "device__payment_instrument_id__count_distinct__7d": "F_SHARED_IDENTITY",
        "ip__customer_id__count_distinct__7d": "F_SHARED_IDENTITY",
        "customer__device_id__count_distinct__30d": "F_IDENTITY_CHANGES",
        "customer__payment_instrument_id__count_distinct__90d": "F_IDENTITY_CHANGES",
        "customer_device__checkouts__count__all": "F_NEW_IDENTITY",
        "customer_payment_instrument__checkouts__count__all": "F_NEW_IDENTITY",
        "merchant__chargeback_amount_minor__sum__30d": "F_MERCHANT_FRAUD_RATE",
        "merchant_chargeback_rate_7d": "F_MERCHANT_FRAUD_RATE",
        "customer__chargebacks__count__all": "F_CUSTOMER_FRAUD_HISTORY",
        "customer__created_at_us__max__all": "F_ACCOUNT_AGE",
        "tenure_days": "F_ACCOUNT_AGE",
        "customer__sessions__count_distinct__7d": "F_BROWSING",
        "customer__add_to_carts__count__30d": "F_BROWSING",
        "amount_to_customer_mean_30d": "F_AMOUNT_VS_HISTORY",
        "amount_to_merchant_mean_30d": "F_AMOUNT_VS_MERCHANT",
        "log_amount": "F_AMOUNT",
        "hour_of_day": "F_TIME_OF_DAY",
        "day_of_week": "F_TIME_OF_DAY",
    }
    from cartwise.features.catalog import FRAUD_FEATURES

    assert set(expected) <= set(FRAUD_FEATURES.feature_names)
    assert {n: ReasonCodes.from_rules(list(expected)).feature_codes[n] for n in expected} == expected


def test_every_handbook_feature_has_a_reason_code() -> None:
    from cartwise.models.fraud.handbook_features import handbook_feature_set

    names = handbook_feature_set().feature_names
    codes = ReasonCodes.from_rules(names).feature_codes
    assert not sorted(n for n in names if codes[n] == OTHER)
    assert codes["customer_spike_share_7d"] == "F_CUSTOMER_SPEND"
    assert codes["merchant_orders_1d_over_30d"] == "F_MERCHANT_VELOCITY"
