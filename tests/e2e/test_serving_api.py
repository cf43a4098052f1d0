"""The decision service's HTTP contract, auth, input errors, idempotency and degraded mode."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from serving_fixtures import KEYS, Service, checkout, headers

from cartwise.serving.settings import ServiceSettings

pytestmark = pytest.mark.redis


def test_checkout_decision_has_every_field(service: Service) -> None:
    r = service.client.post("/v1/checkout/decisions", json=checkout(), headers=headers("decisions"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] in ("approve", "review", "decline")
    assert 0.0 <= body["fraud_score"] <= 1.0
    assert 0.0 <= body["default_probability"] <= 1.0
    assert body["model_versions"] == {"fraud": "1", "credit": "1"}
    assert body["degraded"] is False
    assert body["degraded_reasons"] == []
    assert len(body["decision_id"]) == 32
    assert body["checkout_id"] == 1001
    if body["decision"] != "decline":
        assert body["plan_options"]
        assert body["approved_limit_minor"] > 0
    assert body["latency_ms"] > 0


def test_approved_checkout_offers_exact_installment_schedules(service: Service) -> None:
    order = checkout(
        1002,
        customer_id=8,
        merchant_id=3,
        amount_minor=1_001,
        items=[{"product_id": 3, "quantity": 1, "unit_price_minor": 1_001}],
    )
    r = service.client.post("/v1/checkout/decisions", json=order, headers=headers("decisions"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"] == "approve", body
    assert {o["plan_type"] for o in body["plan_options"]} == {"pay_in_4", "pay_monthly_6"}
    for option in body["plan_options"]:  # 1,001 does not divide by 4 or 6: the first carry the rest
        assert len(option["installments_minor"]) == option["n_installments"]
        assert sum(option["installments_minor"]) == 1_001
        assert (
            option["installment_minor"]
            == option["installments_minor"][0]
            == max(option["installments_minor"])
        )


def test_risky_checkout_is_declined_with_reasons(service: Service) -> None:
    body = checkout(
        2002,
        customer_id=999,  # no history
        amount_minor=900_000,
        items=[{"product_id": 1, "quantity": 1, "unit_price_minor": 900_000}],
        device={"device_id": "dev-shared"},  # shared by 12 customers this week
    )
    r = service.client.post("/v1/checkout/decisions", json=body, headers=headers())
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["decision"] == "decline"
    assert out["fraud_decision"] != "approve" or out["credit_decision"] == "decline"
    assert out["fraud_reasons"] or out["adverse_action_reasons"]
    assert out["plan_options"] == []
    for reason in out["fraud_reasons"] + out["adverse_action_reasons"]:
        assert reason["code"]
        assert reason["description"]


def test_retry_returns_the_same_decision_and_logs_once(service: Service) -> None:
    first = service.client.post("/v1/checkout/decisions", json=checkout(3003), headers=headers()).json()
    second = service.client.post("/v1/checkout/decisions", json=checkout(3003), headers=headers()).json()
    service.log.flush()
    third = service.client.post("/v1/checkout/decisions", json=checkout(3003), headers=headers()).json()
    assert first["decision_id"] == second["decision_id"] == third["decision_id"]
    assert second["replayed"]
    assert third["replayed"]
    assert not first["replayed"]
    assert {k: v for k, v in first.items() if k != "replayed"} == {
        k: v for k, v in third.items() if k != "replayed"
    }
    table = service.log.to_arrow()
    assert table.column("checkout_id").to_pylist().count(3003) == 1


def test_decision_log_rows_follow_the_monitoring_schema(service: Service) -> None:
    for i in range(5):
        assert (
            service.client.post(
                "/v1/checkout/decisions", json=checkout(4000 + i), headers=headers()
            ).status_code
            == 200
        )
    service.log.flush()
    table = service.log.to_arrow()
    assert table.num_rows == 5
    row = table.slice(0, 1).to_pylist()[0]
    assert row["fraud_model_version"] == "1"
    assert row["credit_model_version"] == "1"
    numeric = dict(row["numeric_features"])
    assert numeric["amount_minor"] == 12_999.0
    assert numeric["customer_orders_30d"] == 7.0  # read from Redis for customer 7
    assert row["latency_ms"] > 0


def test_recommendations_are_affordable(service: Service) -> None:
    r = service.client.post("/v1/recommendations", json={"customer_id": 7, "k": 10}, headers=headers("recs"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["products"]) == 10
    assert body["affordable_up_to_minor"] > 0
    assert all(p["price_minor"] <= body["affordable_up_to_minor"] for p in body["products"])
    scores = [p["score"] for p in body["products"]]
    assert scores == sorted(scores, reverse=True)
    capped = service.client.post(
        "/v1/recommendations",
        json={"customer_id": 7, "k": 5, "max_price_minor": 5_000},
        headers=headers("recs"),
    ).json()
    assert all(p["price_minor"] <= 5_000 for p in capped["products"])


def test_search(service: Service) -> None:
    r = service.client.get("/v1/products/search", params={"q": "product 12", "k": 3}, headers=headers("recs"))
    assert r.status_code == 200, r.text
    assert len(r.json()["products"]) == 3
    assert r.json()["query"] == "product 12"


@pytest.mark.parametrize(
    ("path", "method", "payload"),
    [
        ("/v1/checkout/decisions", "post", checkout()),
        ("/v1/recommendations", "post", {"customer_id": 1}),
        ("/v1/products/search?q=shoes", "get", None),
    ],
)
def test_missing_or_unknown_key_is_401(service: Service, path: str, method: str, payload: Any) -> None:
    r = service.client.request(method, path, json=payload)
    assert r.status_code == 401
    assert "X-API-Key" in r.json()["detail"]
    r = service.client.request(method, path, json=payload, headers={"X-API-Key": "cw_nope"})
    assert r.status_code == 401


def test_key_without_the_scope_is_403(service: Service) -> None:
    r = service.client.post("/v1/checkout/decisions", json=checkout(), headers=headers("recs"))
    assert r.status_code == 403
    assert "decisions" in r.json()["detail"]
    r = service.client.post("/v1/recommendations", json={"customer_id": 1}, headers=headers("decisions"))
    assert r.status_code == 403


def test_rate_limit_is_429_with_retry_after(service: Service) -> None:
    codes = [
        service.client.post(
            "/v1/checkout/decisions", json=checkout(5000 + i), headers=headers("slow")
        ).status_code
        for i in range(4)
    ]
    assert codes[:2] == [200, 200]
    assert codes[2:] == [429, 429]
    r = service.client.post("/v1/checkout/decisions", json=checkout(5100), headers=headers("slow"))
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    # other keys are not affected
    assert (
        service.client.post("/v1/checkout/decisions", json=checkout(5101), headers=headers()).status_code
        == 200
    )


def test_bad_fields_are_422_naming_each(service: Service) -> None:
    body = checkout(amount_minor=-5, plan_type="pay_in_99", surprise=1)
    body["items"][0]["quantity"] = 0
    r = service.client.post("/v1/checkout/decisions", json=body, headers=headers())
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"amount_minor", "plan_type", "surprise", "items.0.quantity"} <= fields
    assert "amount_minor" in r.json()["detail"]


def test_a_currency_the_models_were_not_trained_in_is_422(service: Service) -> None:
    """Yen have no minor unit: 12,999 of them read as USD cents would be scored at the wrong scale."""
    for path in ("/v1/checkout/decisions", "/invocations"):
        r = service.client.post(path, json=checkout(5201, currency="JPY"), headers=headers("decisions"))
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == "invalid request: currency"
        assert "JPY is not served" in r.json()["errors"][0]["message"]
        assert "USD" in r.json()["errors"][0]["message"]
    ok = service.client.post(
        "/v1/checkout/decisions", json=checkout(5202, currency="USD"), headers=headers("decisions")
    )
    assert ok.status_code == 200, ok.text


def test_the_served_currencies_are_a_setting(make_service: Any) -> None:
    svc = make_service(ServiceSettings(poll_seconds=0, currencies=("EUR", "GBP")))
    usd = svc.client.post("/v1/checkout/decisions", json=checkout(5301), headers=headers("decisions"))
    assert usd.status_code == 422
    assert "the models decide on orders in EUR, GBP" in usd.json()["errors"][0]["message"]
    eur = checkout(5302, currency="EUR")
    assert (
        svc.client.post("/v1/checkout/decisions", json=eur, headers=headers("decisions")).status_code == 200
    )
    spec = svc.client.get("/openapi.json").json()  # clients can read what is served
    currency = spec["components"]["schemas"]["CheckoutRequest"]["properties"]["currency"]
    assert currency["enum"] == ["EUR", "GBP"]


def test_malformed_json_is_422_not_500(service: Service) -> None:
    r = service.client.post(
        "/v1/checkout/decisions",
        content=b"{not json",
        headers={**headers(), "Content-Type": "application/json"},
    )
    assert r.status_code == 422


def test_oversized_body_is_413(make_service: Any) -> None:
    svc = make_service(ServiceSettings(poll_seconds=0, max_body_bytes=2_000))
    items = [{"product_id": i + 1, "quantity": 1, "unit_price_minor": 100} for i in range(100)]
    r = svc.client.post("/v1/checkout/decisions", json=checkout(items=items), headers=headers())
    assert r.status_code == 413

    def chunks() -> Any:  # no Content-Length: the limit still holds
        for _ in range(10):
            yield b" " * 500

    r = svc.client.post(
        "/v1/checkout/decisions", content=chunks(), headers={**headers(), "Content-Type": "application/json"}
    )
    assert r.status_code == 413


def test_redis_down_gives_fast_degraded_decisions_counted_in_metrics(make_service: Any) -> None:
    svc = make_service(redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    timings = []
    for i in range(10):
        start = time.perf_counter()
        r = svc.client.post(
            "/v1/checkout/decisions",
            json=checkout(
                6000 + i, amount_minor=50_000, items=[{"product_id": 1, "unit_price_minor": 50_000}]
            ),
            headers=headers(),
        )
        timings.append(time.perf_counter() - start)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["degraded"] is True
        assert body["degraded_reasons"] == ["online_features_unavailable"]
        assert body["approved_limit_minor"] <= ServiceSettings().degraded_limit_minor
        assert body["decision"] != "approve"  # over the degraded limit
    assert max(timings) < 0.5, timings  # no hanging on the dead store (generous for a shared machine)
    metrics = svc.client.get("/metrics").text
    assert 'cartwise_degraded_decisions_total{reason="online_features_unavailable"} 10.0' in metrics
    recs = svc.client.post("/v1/recommendations", json={"customer_id": 1}, headers=headers()).json()
    assert recs["degraded"] is True


def test_metrics_expose_the_agreed_names(service: Service) -> None:
    from cartwise.monitoring.metric_names import SERVICE_METRICS

    service.client.post("/v1/checkout/decisions", json=checkout(7001), headers=headers())
    text = service.client.get("/metrics").text
    for metric in SERVICE_METRICS:
        assert metric.name in text, metric.name
    assert 'cartwise_model_info{alias="champion",model="fraud",version="1"} 1.0' in text
    assert (
        'cartwise_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/v1/checkout/decisions"}'
        in text
    )
    assert "cartwise_decisions_total{outcome=" in text


def test_health_ready_ping_and_invocations(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}
    ready = service.client.get("/readyz").json()
    assert ready["ready"] is True
    assert ready["models"] == {"fraud": "1", "credit": "1", "recs": "1"}
    assert service.client.get("/ping").status_code == 200
    r = service.client.post("/invocations", json=checkout(8001), headers=headers("decisions"))
    assert r.status_code == 200
    assert r.json()["checkout_id"] == 8001
    assert service.client.post("/invocations", json=checkout(8002)).status_code == 401


def test_open_invocations_for_sagemaker(make_service: Any) -> None:
    svc = make_service(ServiceSettings(poll_seconds=0, open_invocations=True))
    assert svc.client.post("/invocations", json=checkout(8101)).status_code == 200
    assert svc.client.post("/v1/checkout/decisions", json=checkout(8102)).status_code == 401


def test_openapi_is_published(service: Service) -> None:
    spec = service.client.get("/openapi.json").json()
    for path in (
        "/v1/checkout/decisions",
        "/v1/recommendations",
        "/v1/products/search",
        "/invocations",
        "/ping",
    ):
        assert path in spec["paths"]
    assert spec["components"]["schemas"]["CheckoutRequest"]["additionalProperties"] is False


def test_no_personal_data_in_logs(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = checkout(9001, device={"device_id": "dev-private-77", "ip_country": "US"})
    body["payment_instrument"]["fingerprint"] = "fp-very-secret-123"
    service.client.post("/v1/checkout/decisions", json=body, headers=headers())
    service.client.post("/v1/checkout/decisions", json={**body, "amount_minor": -1}, headers=headers())
    service.client.post("/v1/checkout/decisions", json=body, headers={"X-API-Key": KEYS["all"] + "x"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("fp-very-secret-123", "dev-private-77", KEYS["all"]):
        assert secret not in text
    service.log.flush()
    row = next(r for r in service.log.to_arrow().to_pylist() if r["checkout_id"] == 9001)
    logged = str(row["numeric_features"]) + str(row["categorical_features"])
    assert "fp-very-secret-123" not in logged
    assert "dev-private-77" not in logged


def test_the_fast_route_answers_valid_requests_and_hands_everything_else_to_the_contract(
    service: Service,
) -> None:
    """Valid, authorised checkouts are answered by the edge's fast route (FastAPI's route is not
    entered); a bad body, a missing key or a wrong scope still get the FastAPI contract's errors."""
    entered: list[str] = []
    batcher = service.app.state.decision_batcher
    original = batcher.run

    def spy(requests: Any) -> list[bytes]:
        entered.append("engine")
        return list(original(requests))

    batcher.run = spy
    fast = service.client.post("/v1/checkout/decisions", json=checkout(5001), headers=headers("decisions"))
    assert fast.status_code == 200
    assert fast.headers["content-type"] == "application/json"
    assert entered == ["engine"]
    assert fast.json()["checkout_id"] == 5001
    invocations = service.client.post("/invocations", json=checkout(5002), headers=headers("decisions"))
    assert invocations.status_code == 200  # the same engine behind the FastAPI route
    assert set(invocations.json()) == set(fast.json())

    bad = service.client.post(
        "/v1/checkout/decisions", json=checkout(5003, amount_minor=-1), headers=headers("decisions")
    )
    assert bad.status_code == 422
    assert "amount_minor" in bad.json()["detail"]
    assert service.client.post("/v1/checkout/decisions", json=checkout(5004)).status_code == 401
    wrong_scope = service.client.post("/v1/checkout/decisions", json=checkout(5005), headers=headers("recs"))
    assert wrong_scope.status_code == 403
    not_json = service.client.post(
        "/v1/checkout/decisions",
        content=b"{not json",
        headers={**headers("decisions"), "content-type": "application/json"},
    )
    assert not_json.status_code == 422


def test_an_unexpected_error_on_the_fast_route_is_a_logged_500_without_request_data(
    service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(requests: Any) -> list[bytes]:
        raise RuntimeError("boom")

    service.app.state.decision_batcher.run = broken
    with caplog.at_level(logging.ERROR):
        r = service.client.post("/v1/checkout/decisions", json=checkout(6001), headers=headers("decisions"))
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error; it has been logged"}
    assert "RuntimeError" in caplog.text
    assert "fp-secret-7" not in caplog.text
    metrics = service.client.get("/metrics").text
    assert (
        'cartwise_http_requests_total{method="POST",route="/v1/checkout/decisions",status="500"} 1.0'
        in metrics
    )
