"""Schemathesis fuzzes the published OpenAPI spec, valid and invalid inputs: none may produce a 500.

Bounded: a few dozen examples per operation, well under a minute in all.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from serving_fixtures import KEYS, MemoryModelSource, keyring, make_reader

from cartwise.serving.app import ServiceComponents, create_app
from cartwise.serving.decision_log import SqliteDecisionLog
from cartwise.serving.settings import ServiceSettings

pytestmark = pytest.mark.redis


@pytest.fixture
def api_schema(tmp_path: Path, model_source: MemoryModelSource, redis_prefix: str) -> Any:
    components = ServiceComponents(
        models=model_source,
        features=make_reader(redis_prefix),
        decision_log=SqliteDecisionLog(tmp_path / "fuzz.sqlite"),
        keys=keyring(),
    )
    app = create_app(ServiceSettings(poll_seconds=0), components)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_input_produces_a_server_error(api_schema: Any) -> None:
    # Each operation is driven with hypothesis directly (schemathesis' lazy pytest
    # loader does not run under this pytest version).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 8  # every route but /openapi.json itself
    seen: dict[str, set[int]] = {}
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        def fuzz(case: Any) -> None:
            response = case.call(headers={"X-API-Key": KEYS["all"]})
            seen.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # a route without inputs has no invalid request
    # the fuzzing reached the models, not only the validation layer
    assert 200 in seen["POST /v1/checkout/decisions"], seen
    assert 422 in seen["POST /v1/checkout/decisions"], seen  # invalid bodies were sent too
    assert 200 in seen["POST /v1/recommendations"], seen
