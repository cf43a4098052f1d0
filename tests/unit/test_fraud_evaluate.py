"""Per-mechanism fraud report, against a case computed by hand."""

from __future__ import annotations

import pytest

from cartwise.errors import MetricInputError
from cartwise.models.fraud.evaluate import mechanism_report


def test_mechanism_report_by_hand() -> None:
    y = [0, 0, 0, 0, 1, 1]
    score = [0.1, 0.2, 0.3, 0.9, 0.8, 0.05]
    amount = [1, 1, 1, 1, 10, 20]
    kind = ["", "", "", "", "account_takeover", "card_testing"]
    # declining 1/3 of 6 orders stops the two highest: 0.9 (genuine) and 0.8 (account takeover)
    report = mechanism_report(y, score, amount, kind, decline_rate=1 / 3).set_index("mechanism")
    assert list(report.index) == ["all", "account_takeover", "card_testing"]
    assert report.loc["all", "auc_roc"] == pytest.approx(3 / 8)
    assert report.loc["all", "recall_at_decline_rate"] == pytest.approx(0.5)
    assert report.loc["all", "money_caught"] == pytest.approx(10 / 30)
    assert report.loc["account_takeover", "auc_roc"] == pytest.approx(0.75)
    assert report.loc["account_takeover", "average_precision"] == pytest.approx(0.5)
    assert report.loc["account_takeover", "money_caught"] == pytest.approx(1.0)
    # the missed mechanism shows as missed
    assert report.loc["card_testing", "auc_roc"] == pytest.approx(0.0)
    assert report.loc["card_testing", "average_precision"] == pytest.approx(0.2)
    assert report.loc["card_testing", "recall_at_decline_rate"] == 0.0


def test_mechanism_must_match_labels() -> None:
    with pytest.raises(MetricInputError, match="mechanism"):
        mechanism_report([0, 1], [0.1, 0.2], [1, 1], ["", ""])
