"""Declared credit features: monotone direction, kind, and the adverse-action reason each one maps to.

A credit model is told which features it may use and how each one is allowed to move risk.
``direction=+1`` means a higher value never lowers the probability of default (days past
due, late installments), ``-1`` means a higher value never raises it (tenure), ``0`` leaves
the shape free. The same declaration carries the stable reason code and the plain-language
adverse-action text (ECOA / Regulation B style) used when the feature pushes an applicant
toward decline.

Protected attributes are never model inputs: :func:`check_no_protected` rejects them at fit
and at scoring time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cartwise.domain.schemas import PROTECTED_ATTRIBUTES
from cartwise.errors import FeatureError, ProtectedAttributeError

__all__ = [
    "PROTECTED_CREDIT_ATTRIBUTES",
    "CreditFeature",
    "check_no_protected",
    "feature_from_dict",
    "is_protected",
    "monotone_map",
    "validate_features",
]

logger = logging.getLogger(__name__)

PROTECTED_CREDIT_ATTRIBUTES: tuple[str, ...] = tuple(
    dict.fromkeys(
        (
            *PROTECTED_ATTRIBUTES,
            "age",
            "age_in_years",
            "sex",
            "gender",
            "marital_status",
            "marriage",
            "personal_status_and_sex",
            "foreign_worker",
            "national_origin",
            "race",
            "ethnicity",
            "religion",
            "color",
        )
    )
)
"""Column names no credit model may take as input or give as a reason (ECOA / Reg B bases)."""


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def is_protected(name: str, protected: Iterable[str] = PROTECTED_CREDIT_ATTRIBUTES) -> bool:
    """Whether a column name is a protected attribute (case and punctuation insensitive)."""
    return _norm(name) in {_norm(p) for p in protected}


def check_no_protected(
    columns: Iterable[str], protected: Iterable[str] = PROTECTED_CREDIT_ATTRIBUTES
) -> None:
    """Raise :class:`ProtectedAttributeError` naming every protected column among ``columns``."""
    protected = tuple(protected)
    found = [c for c in columns if is_protected(str(c), protected)]
    if found:
        raise ProtectedAttributeError(
            f"protected attribute(s) {found} were passed as credit model inputs; a protected attribute "
            "(age, sex, marital status, national origin, ...) may never be a model input or a decline reason. "
            "Drop these columns from X and pass them to the fairness report instead."
        )


@dataclass(frozen=True)
class CreditFeature:
    """One model input and what it means to an applicant.

    ``direction`` is the monotone constraint on the probability of default: +1 (more never
    lowers risk), -1 (more never raises risk) or 0 (free). Categorical features are always
    unconstrained. ``reason_code`` is stable across model versions; ``reason_text`` is the
    adverse-action wording shown to a declined applicant.
    """

    name: str
    direction: int = 0
    categorical: bool = False
    reason_code: str = ""
    reason_text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def feature_from_dict(data: Mapping[str, Any]) -> CreditFeature:
    """The inverse of :meth:`CreditFeature.to_dict`."""
    return CreditFeature(
        name=str(data["name"]),
        direction=int(data.get("direction", 0)),
        categorical=bool(data.get("categorical", False)),
        reason_code=str(data.get("reason_code", "")),
        reason_text=str(data.get("reason_text", "")),
    )


def validate_features(
    features: Sequence[CreditFeature], protected: Iterable[str] = PROTECTED_CREDIT_ATTRIBUTES
) -> tuple[CreditFeature, ...]:
    """Check a feature declaration and fill default reason codes; returns the completed tuple."""
    if not features:
        raise FeatureError("a credit model needs at least one declared CreditFeature; pass features=[...]")
    names = [f.name for f in features]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FeatureError(f"credit features {dupes} are declared more than once; declare each feature once")
    check_no_protected(names, protected)
    out = []
    for i, f in enumerate(features):
        if f.direction not in (-1, 0, 1):
            raise FeatureError(
                f"credit feature {f.name!r} has direction={f.direction!r}; use +1 (more never lowers risk), "
                "-1 (more never raises risk) or 0 (unconstrained)"
            )
        if f.categorical and f.direction != 0:
            raise FeatureError(
                f"categorical credit feature {f.name!r} cannot carry a monotone direction; set direction=0"
            )
        code = f.reason_code or f"R{i + 1:02d}"
        text = f.reason_text or f"{f.name.replace('_', ' ').capitalize()}"
        out.append(CreditFeature(f.name, f.direction, f.categorical, code, text))
    codes = [f.reason_code for f in out]
    dup_codes = sorted({c for c in codes if codes.count(c) > 1})
    if dup_codes:
        raise FeatureError(f"reason codes {dup_codes} are shared by several features; give each its own code")
    return tuple(out)


def monotone_map(features: Sequence[CreditFeature]) -> dict[str, int]:
    """Feature name -> monotone direction (+1, -1 or 0)."""
    return {f.name: f.direction for f in features}
