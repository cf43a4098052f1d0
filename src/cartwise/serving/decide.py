"""Checkout decisions, one or a batch: features, both models, policy, reasons, degraded fallbacks, log.

Kept free of HTTP so it can be tested and benchmarked on its own. Outcomes combine
as the stricter of the two: decline if either model's policy declines, review if
either asks for review, approve otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from cartwise.serving.decision_log import DecisionLog, DecisionRecord, ShadowScore
from cartwise.serving.features import read_many
from cartwise.serving.metrics import ServiceMetrics
from cartwise.serving.models import ModelManager, ModelSnapshot
from cartwise.serving.ports import CheckoutFacts, CreditResult, FeatureReader, ReasonCode
from cartwise.serving.schemas import CheckoutRequest
from cartwise.serving.settings import ServiceSettings

__all__ = ["DecisionEngine", "RequestFeatures", "request_features"]

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


RequestFeatures = Callable[
    [Sequence[CheckoutFacts], Sequence[Mapping[str, float | None]]], list[dict[str, float | None]]
]
"""``(facts, online features) -> request-time features``, for several checkouts at once."""


def _facts(request: CheckoutRequest, at_us: int) -> CheckoutFacts:
    return CheckoutFacts(
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


def _each(port: Any, name: str, *columns: Sequence[Any], **options: Any) -> list[Any]:
    """``port.<name>_many(*columns)`` when the port has it, else ``port.<name>`` row by row."""
    many = getattr(port, f"{name}_many", None)
    if many is not None:
        return list(many(*columns, **options))
    one = getattr(port, name)
    return [one(*row, **options) for row in zip(*columns, strict=True)]


@dataclass
class DecisionEngine:
    """Decides checkouts, one or several at a time.

    Checkouts that arrive together are decided together (:meth:`decide_many_json`):
    one online-store round trip, one call to each model and one TreeSHAP call
    for those that need reasons, whatever their number. Each answer is the one
    the checkout would get alone. Model ports may define ``score_many``,
    ``reasons_many`` (fraud) and ``decide_many`` (credit); without them each
    checkout is scored on its own.
    """

    models: ModelManager
    features: FeatureReader
    log: DecisionLog
    metrics: ServiceMetrics
    settings: ServiceSettings
    extra_features: RequestFeatures | None = None

    def decide(self, request: CheckoutRequest, started: float) -> dict[str, Any]:
        """The decision for ``request`` (the stored one if this checkout was decided before)."""
        return self._decide([(request, started)])[0][0]

    def decide_json(self, request: CheckoutRequest, started: float) -> bytes:
        """:meth:`decide`, as the JSON body to send (serialised once, shared with the log)."""
        return self.decide_many_json([(request, started)])[0]

    def decide_many_json(self, requests: Sequence[tuple[CheckoutRequest, float]]) -> list[bytes]:
        """The JSON answer to each ``(request, started)``, deciding them together."""
        return [
            (text if text is not None else _json(response)).encode()
            for response, text in self._decide(requests)
        ]

    def _decide(
        self, requests: Sequence[tuple[CheckoutRequest, float]]
    ) -> list[tuple[dict[str, Any], str | None]]:
        """Each answer, and its JSON when it is a new decision."""
        answers: list[tuple[dict[str, Any], str | None] | None] = [None] * len(requests)
        fresh: list[int] = []
        for i, (request, _) in enumerate(requests):
            stored = self.log.lookup(request.checkout_id)
            if stored is not None:
                stored["replayed"] = True
                answers[i] = (stored, None)
            else:
                fresh.append(i)
        if fresh:
            for i, answer in zip(fresh, self._decide_new([requests[i] for i in fresh]), strict=True):
                answers[i] = answer
        done = [a for a in answers if a is not None]
        if len(done) != len(requests):  # never expected: a checkout must not go unanswered or take another's
            raise RuntimeError(
                f"{len(requests) - len(done)} checkout(s) of the batch were left without an answer"
            )
        return done

    def _decide_new(
        self, requests: Sequence[tuple[CheckoutRequest, float]]
    ) -> list[tuple[dict[str, Any], str | None]]:
        snapshot = self.models.snapshot
        assert snapshot is not None, "callers check readiness first"
        now = dt.datetime.now(dt.UTC)
        facts: list[CheckoutFacts] = []
        request_numeric: list[dict[str, float | None]] = []
        categoricals: list[dict[str, str]] = []
        for request, _ in requests:
            at = request.created_at or now
            if at.tzinfo is None:
                at = at.replace(tzinfo=dt.UTC)
            facts.append(_facts(request, int(at.timestamp() * 1_000_000)))
            numeric, categorical = request_features(request, at)
            request_numeric.append(numeric)
            categoricals.append(categorical)
        degraded_reasons: list[str] = []
        try:
            online = read_many(self.features, facts)
        except Exception as exc:
            online = [{} for _ in facts]
            degraded_reasons.append("online_features_unavailable")
            logger.debug("online features unavailable: %s", type(exc).__name__)
        features: list[dict[str, float | None]] = [
            {**values, **numeric} for values, numeric in zip(online, request_numeric, strict=True)
        ]
        if self.extra_features is not None:
            for row, extra in zip(features, self.extra_features(facts, online), strict=True):
                row.update(extra)

        fraud = snapshot.scorer("fraud")
        credit = snapshot.scorer("credit")
        amounts = [request.amount_minor for request, _ in requests]
        fraud_scores = [float(v) for v in _each(fraud, "score", features)]
        fraud_outcomes = [
            str(fraud.decide(score, amount)) for score, amount in zip(fraud_scores, amounts, strict=True)
        ]
        credit_results: list[CreditResult] = _each(
            credit, "decide", features, amounts, [request.plan_type for request, _ in requests]
        )
        flagged = [i for i, outcome in enumerate(fraud_outcomes) if outcome != "approve"]
        fraud_reasons: dict[int, tuple[ReasonCode, ...]] = {}
        if flagged:
            explained = _each(
                fraud, "reasons", [features[i] for i in flagged], top_n=self.settings.reasons_top_n
            )
            fraud_reasons = dict(zip(flagged, explained, strict=True))
        return [
            self._answer(
                snapshot,
                request,
                started,
                one,
                features[i],
                categoricals[i],
                fraud_scores[i],
                fraud_outcomes[i],
                credit_results[i],
                fraud_reasons.get(i, ()),
                degraded_reasons,
            )
            for i, ((request, started), one) in enumerate(zip(requests, facts, strict=True))
        ]

    def _answer(
        self,
        snapshot: ModelSnapshot,
        request: CheckoutRequest,
        started: float,
        facts: CheckoutFacts,
        features: dict[str, float | None],
        categorical: dict[str, str],
        fraud_score: float,
        fraud_outcome: str,
        credit_result: CreditResult,
        fraud_reasons: tuple[ReasonCode, ...],
        degraded_reasons: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """One checkout's answer from its scores: combine, cap when degraded, log, count."""
        outcome = max(fraud_outcome, credit_result.outcome, key=_RANK.__getitem__)
        limit = credit_result.approved_limit_minor
        if degraded_reasons:
            # Safe defaults: without the shopper's history, cap exposure.
            limit = min(limit, self.settings.degraded_limit_minor)
            if outcome == "approve" and request.amount_minor > limit:
                outcome = "review"
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
                    "installments_minor": list(p.installments_minor),
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
            decided_at_us=facts.at_us,
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
