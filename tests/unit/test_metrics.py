"""Metric functions against cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cartwise.errors import MetricInputError
from cartwise.models import metrics as m

Y4 = [0, 0, 1, 1]
S4 = [0.1, 0.4, 0.35, 0.8]


def test_roc_auc_counts_correctly_ordered_pairs() -> None:
    # pairs (pos, neg): (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) -> 3 of 4
    assert m.roc_auc(Y4, S4) == pytest.approx(0.75)


def test_roc_auc_ties_count_half() -> None:
    assert m.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)


def test_average_precision_by_hand() -> None:
    # ranked: 0.8 (1), 0.4 (0), 0.35 (1), 0.1 (0): precision 1 at recall 1/2, 2/3 at recall 1
    assert m.average_precision(Y4, S4) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_ks_statistic_by_hand() -> None:
    # threshold 0.8: tpr 1/2, fpr 0; threshold 0.35: tpr 1, fpr 1/2 -> max gap 1/2
    assert m.ks_statistic(Y4, S4) == pytest.approx(0.5)
    assert m.ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(1.0)


def test_brier_and_log_loss_by_hand() -> None:
    assert m.brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    assert m.log_loss([0, 1], [0.2, 0.6]) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)


def test_expected_calibration_error_two_bins_by_hand() -> None:
    # bin [0, .5): mean p .15, rate .5 -> .35; bin [.5, 1]: mean p .8, rate 1 -> .2; equal weights
    ece = m.expected_calibration_error([0, 1, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
    assert ece == pytest.approx(0.5 * 0.35 + 0.5 * 0.2)
    # a probability of exactly 1.0 falls in the last bin
    assert m.expected_calibration_error([1], [1.0], n_bins=10) == pytest.approx(0.0)


def test_recall_and_money_at_decline_rate() -> None:
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    s = [0.9, 0.8, 0.1, 0.2, 0.3, 0.2, 0.1, 0.0, 0.05, 0.7]
    amount = [100, 50, 30, 1, 1, 1, 1, 1, 1, 20]
    # 20% of 10 rows = the 2 highest: rows 0 (fraud) and 1 (good)
    assert m.recall_at_decline_rate(y, s, 0.2) == pytest.approx(1 / 3)
    # 30% adds row 9 (fraud)
    assert m.recall_at_decline_rate(y, s, 0.3) == pytest.approx(2 / 3)
    money = m.money_caught_at_decline_rate(y, s, amount, 0.2)
    assert money.fraud_amount_total == pytest.approx(150)
    assert money.fraud_amount_caught == pytest.approx(100)
    assert money.good_amount_declined == pytest.approx(50)
    assert money.fraction_caught == pytest.approx(100 / 150)


def test_card_precision_follows_handbook_rules() -> None:
    # day 1: A max .9 (fraud), B .8 (good), C .7 (fraud) -> top 2 = A, B -> 1/2; A detected
    # day 2: A removed; C .6 (fraud), D .5 (good), E .4 (fraud) -> top 2 = C, D -> 1/2
    day = [1, 1, 1, 1, 2, 2, 2, 2]
    card = ["A", "A", "B", "C", "A", "C", "D", "E"]
    y = [1, 0, 0, 1, 1, 1, 0, 1]
    s = [0.9, 0.1, 0.8, 0.7, 0.95, 0.6, 0.5, 0.4]
    res = m.card_precision_at_k(day, card, y, s, k=2)
    assert res.per_day == (0.5, 0.5)
    assert res.mean == pytest.approx(0.5)
    assert res.detected_cards == (("A",), ("C",))
    # without removal, A tops day 2 again: A, C -> 1.0
    kept = m.card_precision_at_k(day, card, y, s, k=2, remove_detected=False)
    assert kept.per_day == (0.5, 1.0)


def test_card_precision_divides_by_k_even_with_fewer_cards() -> None:
    res = m.card_precision_at_k([1, 1], [7, 7], [1, 0], [0.2, 0.9], k=4)
    assert res.per_day == (0.25,)  # card 7 is compromised (max label) and ranked with its max score


def test_top_fraction_mask_breaks_ties_by_row_order() -> None:
    mask = m.top_fraction_mask([0.5, 0.5, 0.5, 0.1], 0.5)
    assert mask.tolist() == [True, True, False, False]


@pytest.mark.parametrize(
    ("y", "s", "message"),
    [
        ([0, 1], [0.1], "differ in length"),
        ([0, 2], [0.1, 0.2], "must be 0 or 1"),
        ([1, 1], [0.1, 0.2], "single class"),
        ([0, 1], [np.nan, 0.2], "NaN"),
        ([], [], "no rows"),
    ],
)
def test_bad_input_is_named(y: list[int], s: list[float], message: str) -> None:
    with pytest.raises(MetricInputError, match=message):
        m.roc_auc(y, s)


def test_probabilities_out_of_range_are_refused() -> None:
    with pytest.raises(MetricInputError, match=r"\[0, 1\]"):
        m.brier([0, 1], [0.2, 1.5])
