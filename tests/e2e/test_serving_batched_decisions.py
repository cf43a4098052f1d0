"""Checkouts decided together get the answers they would get alone (real Redis, real fraud bundle)."""

from __future__ import annotations

import threading
import time
from typing import Any

from serving_fixtures import Service, checkout, headers

from cartwise.serving.schemas import CheckoutRequest

_VARYING = ("decision_id", "checkout_id", "latency_ms")


def _bodies(first_id: int) -> list[dict[str, Any]]:
    return [
        checkout(
            first_id + i,
            customer_id=1 + i % 50,
            merchant_id=1 + i % 10,
            amount_minor=1_000 + 997 * i,
            items=[{"product_id": 3, "quantity": 1, "unit_price_minor": 1_000 + 997 * i}],
            device={"device_id": "dev-shared" if i % 4 == 0 else f"dev-{i}", "ip_country": "US"},
            created_at="2026-03-01T12:00:00Z",
        )
        for i in range(24)
    ]


def _comparable(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in _VARYING}


def test_a_batch_gives_each_checkout_the_answer_it_gets_alone(service: Service) -> None:
    import orjson

    engine = service.app.state.engine
    together = [
        orjson.loads(a)
        for a in engine.decide_many_json(
            [(CheckoutRequest.model_validate(b), time.perf_counter()) for b in _bodies(70_000)]
        )
    ]
    alone = [
        orjson.loads(engine.decide_json(CheckoutRequest.model_validate(b), time.perf_counter()))
        for b in _bodies(80_000)
    ]
    assert [a["checkout_id"] for a in together] == [70_000 + i for i in range(24)]
    assert len({a["fraud_score"] for a in together}) > 10  # different shoppers, devices and amounts
    assert any(a["fraud_reasons"] for a in together)
    assert [_comparable(a) for a in together] == [_comparable(a) for a in alone]
    # a retry inside a batch is the same decision, recorded once
    retried = [
        orjson.loads(a)
        for a in engine.decide_many_json(
            [(CheckoutRequest.model_validate(b), time.perf_counter()) for b in _bodies(70_000)[:2] * 2]
        )
    ]
    assert [a["decision_id"] for a in retried] == [together[0]["decision_id"], together[1]["decision_id"]] * 2
    assert all(a["replayed"] for a in retried)
    service.log.flush()
    logged = [r["checkout_id"] for r in service.log.to_arrow().to_pylist()]
    assert sorted(c for c in logged if c < 80_000) == [70_000 + i for i in range(24)]


def test_concurrent_requests_are_batched_over_http(service: Service) -> None:
    """Requests that arrive while the worker is busy are decided in one batch, and every client still
    gets its own answer. The first batch is slowed on purpose so that the others queue up behind it."""
    batcher = service.app.state.decision_batcher
    original = batcher.run
    first = threading.Event()

    def slow_first(requests: Any) -> list[bytes]:
        if not first.is_set():
            first.set()
            time.sleep(0.2)
        return list(original(requests))

    batcher.run = slow_first
    bodies = _bodies(90_000)
    answers: dict[int, dict[str, Any]] = {}

    def post(body: dict[str, Any]) -> None:
        r = service.client.post("/v1/checkout/decisions", json=body, headers=headers("decisions"))
        answers[body["checkout_id"]] = {"status": r.status_code, **r.json()}

    threads = [threading.Thread(target=post, args=(b,)) for b in bodies]
    before = batcher.batches
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert all(answers[b["checkout_id"]]["status"] == 200 for b in bodies)
    assert all(answers[b["checkout_id"]]["checkout_id"] == b["checkout_id"] for b in bodies)
    assert batcher.batches - before < len(bodies)  # some requests shared a batch
    metrics = service.client.get("/metrics").text
    assert "cartwise_decision_batch_size_count" in metrics
