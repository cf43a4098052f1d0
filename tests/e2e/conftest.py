"""Fixtures of the decision-service tests (defined in serving_fixtures.py)."""

from serving_fixtures import (  # noqa: F401
    fraud_bundle_dir,
    fraud_scorer,
    make_service,
    model_source,
    redis_prefix,
    service,
    tiny_credit,
)
