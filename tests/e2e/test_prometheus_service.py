"""A real Prometheus (Debian's package) scrapes the running decision service over HTTP.

The service runs under uvicorn on a loopback port with the e2e fixtures' models
(a real fraud bundle, a small credit model), the real Redis and a SQLite decision
log; Prometheus scrapes its /metrics every second and must see the decisions made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from serving_fixtures import checkout, headers

from prometheus_server import free_port, run_prometheus, wait_for

pytestmark = [pytest.mark.prometheus, pytest.mark.redis]


@pytest.fixture
def live_service(service: Any) -> Iterator[str]:
    """host:port of the service app served by a real uvicorn server in a thread."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(service.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 20 s")
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_prometheus_scrapes_decisions_from_the_running_service(live_service: str, tmp_path: Path) -> None:
    outcomes: dict[str, int] = {}
    with httpx.Client(base_url=f"http://{live_service}", timeout=10) as client:
        for i in range(12):
            response = client.post("/v1/checkout/decisions", json=checkout(5000 + i), headers=headers("all"))
            assert response.status_code == 200, response.text
            decision = response.json()["decision"]
            outcomes[decision] = outcomes.get(decision, 0) + 1
    with run_prometheus(live_service, tmp_path) as prometheus:
        rows = wait_for(prometheus, "sum by (outcome) (cartwise_decisions_total)")
        seen = {r["metric"]["outcome"]: int(float(r["value"][1])) for r in rows}
        assert seen == outcomes
        latency = wait_for(
            prometheus, 'sum(cartwise_http_request_duration_seconds_count{route="/v1/checkout/decisions"})'
        )
        assert float(latency[0]["value"][1]) >= 12
