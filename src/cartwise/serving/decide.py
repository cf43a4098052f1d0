"""One checkout decision: features, both models, policy, reasons, degraded fallbacks, log record.

Kept free of HTTP so it can be tested and benchmarked on its own. Outcomes combine
as the stricter of the two: decline if either model's policy declines, review if
either asks for review, approve otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from cartwise.serving.decision_log import DecisionLog, DecisionRecord, ShadowScore
from cartwise.serving.metrics import ServiceMetrics
from cartwise.serving.models import ModelManager, ModelSnapshot
from cartwise.serving.ports import CheckoutFacts, CreditResult, FeatureReader
from cartwise.serving.schemas import CheckoutRequest
from cartwise.serving.settings import ServiceSettings

__all__ = ["DecisionEngine", "request_features"]

logger = logging.getLogger(__name__)

_RANK = {"approve": 0, "review": 1, "decline": 2}
_INSTRUMENTS = ("card", "bank_account", "wallet")


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def request_features(
    request: CheckoutRequest, at: dt.datetime
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Features computed from the request itself (no personal identifiers among them)."""
    prices = [item.unit_price_minor for item in request.items]
    numeric: dict[str, float | None] = {
        "amount_minor": float(request.amount_minor),
        "n_items": float(sum(item.quantity for item in request.items)),
        "n_distinct_products": float(len({item.product_id for item in request.items})),
        "max_item_price_minor": float(max(prices)),
        "hour_of_day": float(at.hour),
        "day_of_week": float(at.weekday()),
    }
    for kind in _INSTRUMENTS:
        numeric[f"instrument_{kind}"] = 1.0 if request.payment_instrument.type == kind else 0.0
    categorical = {
        "plan_type": request.plan_type,
        "instrument_type": request.payment_instrument.type,
        "currency": request.currency,
    }
    if request.device.ip_country:
        categorical["ip_country"] = request.device.ip_country
    if request.payment_instrument.country:
        categorical["instrument_country"] = request.payment_instrument.country
    return numeric, categorical


@dataclass
class DecisionEngine:
    models: ModelManager
    features: FeatureReader
    log: DecisionLog
    metrics: ServiceMetrics
    settings: ServiceSettings
    extra_features: Callable[[CheckoutFacts, Mapping[str, float | None]], dict[str, float | None]] | None = (
        None
    )

    def decide(self, request: CheckoutRequest, started: float) -> dict[str, Any]:
        """The decision for ``request`` (the stored one if this checkout was decided before)."""
        return self._decide(request, started)[0]

    def decide_json(self, request: CheckoutRequest, started: float) -> bytes:
        """:meth:`decide`, as the JSON body to send (serialised once, shared with the log)."""
        response, text = self._decide(request, started)
        return (text if text is not None else _json(response)).encode()

    def _decide(self, request: CheckoutRequest, started: float) -> tuple[dict[str, Any], str | None]:
        """The answer, and its JSON when it is a new decision."""
        stored = self.log.lookup(request.checkout_id)
        if stored is not None:
            stored["replayed"] = True
            return stored, None
        snapshot = self.models.snapshot
        assert snapshot is not None, "callers check readiness first"
        at = request.created_at or dt.datetime.now(dt.UTC)
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        at_us = int(at.timestamp() * 1_000_000)
        facts = CheckoutFacts(
            checkout_id=request.checkout_id,
            customer_id=request.customer_id,
            merchant_id=request.merchant_id,
            device_id=request.device.device_id,
            amount_minor=request.amount_minor,
            n_items=len(request.items),
            plan_type=request.plan_type,
            instrument_type=request.payment_instrument.type,
            at_us=at_us,
            payment_instrument_id=request.payment_instrument.fingerprint,
            ip_hash=request.device.ip_hash or "",
            shipping_address_hash=request.shipping_address_hash or "",
            product_id=request.items[0].product_id,
        )
        numeric, categorical = request_features(request, at)
        degraded_reasons: list[str] = []
        try:
            online = self.features.read(facts)
        except Exception as exc:
            online = {}
            degraded_reasons.append("online_features_unavailable")
            logger.debug("online features unavailable: %s", type(exc).__name__)
        features: dict[str, float | None] = {**online, **numeric}
        if self.extra_features is not None:
            features.update(self.extra_features(facts, online))

        fraud = snapshot.scorer("fraud")
        credit = snapshot.scorer("credit")
        fraud_score = float(fraud.score(features))
        fraud_outcome = str(fraud.decide(fraud_score, request.amount_minor))
        credit_result: CreditResult = credit.decide(features, request.amount_minor, request.plan_type)
        outcome = max(fraud_outcome, credit_result.outcome, key=_RANK.__getitem__)
        limit = credit_result.approved_limit_minor
        if degraded_reasons:
            # Safe defaults: without the shopper's history, cap exposure.
            limit = min(limit, self.settings.degraded_limit_minor)
            if outcome == "approve" and request.amount_minor > limit:
                outcome = "review"
        fraud_reasons = (
            fraud.reasons(features, self.settings.reasons_top_n) if fraud_outcome != "approve" else ()
        )
        decision_id = uuid.uuid4().hex
        latency_ms = (time.perf_counter() - started) * 1000.0
        response: dict[str, Any] = {
            "decision_id": decision_id,
            "checkout_id": request.checkout_id,
            "decision": outcome,
            "fraud_score": fraud_score,
            "fraud_decision": fraud_outcome,
            "default_probability": credit_result.default_probability,
            "credit_decision": credit_result.outcome,
            "approved_limit_minor": int(limit),
            "plan_options": [
                {
                    "plan_type": p.plan_type,
                    "n_installments": p.n_installments,
                    "installment_minor": p.installment_minor,
                    "fee_minor": p.fee_minor,
                    "apr": p.apr,
                }
                for p in credit_result.plan_options
            ]
            if outcome != "decline"
            else [],
            "fraud_reasons": [{"code": r.code, "description": r.description} for r in fraud_reasons],
            "adverse_action_reasons": [
                {"code": r.code, "description": r.description} for r in credit_result.reasons
            ],
            "model_versions": {"fraud": snapshot.version("fraud"), "credit": snapshot.version("credit")},
            "degraded": bool(degraded_reasons),
            "degraded_reasons": degraded_reasons,
            "latency_ms": round(latency_ms, 3),
            "replayed": False,
        }
        text = _json(response)
        record = DecisionRecord(
            decision_id=decision_id,
            checkout_id=request.checkout_id,
            customer_id=request.customer_id,
            merchant_id=request.merchant_id,
            decided_at_us=at_us,
            amount_minor=request.amount_minor,
            currency=request.currency,
            outcome=outcome,
            fraud_score=fraud_score,
            default_probability=credit_result.default_probability,
            fraud_model_version=snapshot.version("fraud"),
            credit_model_version=snapshot.version("credit"),
            degraded=bool(degraded_reasons),
            degraded_reason=",".join(degraded_reasons) or None,
            latency_ms=latency_ms,
            numeric_features=features,
            categorical_features=categorical,
            response_json=text,
        )
        if not self.log.record(record):
            stored = self.log.lookup(request.checkout_id)  # a concurrent retry won the race
            if stored is not None:
                stored["replayed"] = True
                return stored, None
        self.metrics.decisions.labels(outcome).inc()
        self.metrics.fraud_score.observe(fraud_score)
        self.metrics.default_probability.observe(credit_result.default_probability)
        for reason in degraded_reasons:
            self.metrics.degraded.labels(reason).inc()
        if snapshot.challengers:
            self._shadow(snapshot, features, request, record)
        return response, record.response_json

    def _shadow(
        self,
        snapshot: ModelSnapshot,
        features: dict[str, float | None],
        request: CheckoutRequest,
        record: DecisionRecord,
    ) -> None:
        def score() -> None:
            for model, challenger in snapshot.challengers.items():
                if challenger.version == snapshot.champions[model].version:
                    continue  # the same version under both aliases: nothing to compare
                if model == "fraud":
                    value, champion = float(challenger.scorer.score(features)), record.fraud_score
                elif model == "credit":
                    value, champion = float(challenger.scorer.score(features)), record.default_probability
                else:
                    continue
                self.log.record_shadow(
                    ShadowScore(
                        record.decision_id,
                        request.checkout_id,
                        model,
                        challenger.version,
                        value,
                        champion,
                        record.decided_at_us,
                    )
                )

        self.models.shadow(score)
