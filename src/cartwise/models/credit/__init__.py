"""Credit underwriting: monotone PD model, scorecard, adverse-action reasons and model bundles."""

from cartwise.models.credit.bundle import CreditBundle, load_bundle, to_bundle
from cartwise.models.credit.decide import decide_credit, pd_by_plan
from cartwise.models.credit.features import PROTECTED_CREDIT_ATTRIBUTES, CreditFeature, check_no_protected
from cartwise.models.credit.monotone import MonotonePDModel
from cartwise.models.credit.reasons import AdverseActionReason, reason_weights, select_reasons
from cartwise.models.credit.scorecard import ScorecardModel

__all__ = [
    "PROTECTED_CREDIT_ATTRIBUTES",
    "AdverseActionReason",
    "CreditBundle",
    "CreditFeature",
    "MonotonePDModel",
    "ScorecardModel",
    "check_no_protected",
    "decide_credit",
    "load_bundle",
    "pd_by_plan",
    "reason_weights",
    "select_reasons",
    "to_bundle",
]
