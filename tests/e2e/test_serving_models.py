"""Hot reload of a new champion under load, shadow scoring of the challenger, registry outages."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from serving_fixtures import MemoryModelSource, TinyCredit, checkout, headers

from cartwise.serving.models import wait_until
from cartwise.serving.ports import LoadedModel
from cartwise.serving.settings import ServiceSettings

pytestmark = pytest.mark.redis


def test_new_champion_is_served_without_failing_requests_in_flight(
    make_service: Any, model_source: MemoryModelSource, fraud_scorer: Any
) -> None:
    svc = make_service(ServiceSettings(poll_seconds=0.05))
    statuses: list[int] = []
    versions: list[str] = []
    per_thread: list[list[str]] = [[], []]  # each thread's requests are sequential: their order is certain
    stop = threading.Event()

    def hammer(offset: int) -> None:
        i = 0
        while not stop.is_set():
            r = svc.client.post(
                "/v1/checkout/decisions", json=checkout(100_000 + offset * 10_000 + i), headers=headers()
            )
            statuses.append(r.status_code)
            if r.status_code == 200:
                version = r.json()["model_versions"]["fraud"]
                versions.append(version)
                per_thread[offset].append(version)
            i += 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    wait_until(lambda: len(statuses) >= 20, timeout=10)
    model_source.put(LoadedModel("fraud", "2", fraud_scorer))  # promote a new champion
    assert wait_until(lambda: versions[-1:] == ["2"], timeout=10)
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert set(statuses) == {200}, statuses
    assert versions[0] == "1"
    assert versions[-1] == "2"
    for seen in per_thread:
        if "2" in seen:
            assert set(seen[seen.index("2") :]) == {"2"}  # no going back once swapped
    text = svc.client.get("/metrics").text
    assert 'cartwise_model_info{alias="champion",model="fraud",version="2"} 1.0' in text
    assert 'cartwise_model_info{alias="champion",model="fraud",version="1"} 0.0' in text


def test_challenger_is_scored_in_shadow_and_logged(
    make_service: Any, model_source: MemoryModelSource, fraud_scorer: Any
) -> None:
    model_source.put(LoadedModel("credit", "7", TinyCredit(seed=1, shift=0.5)), alias="challenger")
    model_source.put(LoadedModel("fraud", "9", fraud_scorer), alias="challenger")
    svc = make_service()
    assert svc.client.get("/readyz").json()["challengers"] == {"credit": "7", "fraud": "9"}
    decisions = [
        svc.client.post("/v1/checkout/decisions", json=checkout(200 + i), headers=headers()).json()
        for i in range(5)
    ]
    assert all(d["model_versions"] == {"fraud": "1", "credit": "1"} for d in decisions)
    assert wait_until(lambda: (svc.log.flush() or True) and len(svc.log.shadow_rows()) == 10, timeout=10)
    rows = svc.log.shadow_rows()
    fraud_rows = [r for r in rows if r["model"] == "fraud"]
    assert {r["version"] for r in fraud_rows} == {"9"}
    # the same model as challenger reproduces the champion's score exactly
    assert all(abs(r["score"] - r["champion_score"]) < 1e-9 for r in fraud_rows)
    credit_rows = [r for r in rows if r["model"] == "credit"]
    assert any(abs(r["score"] - r["champion_score"]) > 1e-6 for r in credit_rows)
    assert {r["decision_id"] for r in rows} == {d["decision_id"] for d in decisions}


def test_registry_unreachable_at_start_is_not_ready_with_the_reason_then_recovers(
    make_service: Any, model_source: MemoryModelSource
) -> None:
    model_source.unreachable = True
    svc = make_service(ServiceSettings(poll_seconds=0.05))
    ready = svc.client.get("/readyz")
    assert ready.status_code == 503
    assert "could not reach the MLflow registry" in ready.json()["reason"]
    assert svc.client.get("/ping").status_code == 503
    r = svc.client.post("/v1/checkout/decisions", json=checkout(300), headers=headers())
    assert r.status_code == 503
    assert "not ready" in r.json()["detail"]
    assert svc.client.get("/healthz").status_code == 200  # alive, just not ready
    model_source.unreachable = False
    assert wait_until(lambda: svc.client.get("/readyz").status_code == 200, timeout=5)
    assert svc.client.post("/v1/checkout/decisions", json=checkout(301), headers=headers()).status_code == 200
