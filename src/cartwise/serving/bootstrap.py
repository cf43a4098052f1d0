"""Wire the decision service to the adapters the settings ask for (nothing connects until the app starts)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from cartwise.config import Settings
from cartwise.serving.app import ServiceComponents
from cartwise.serving.decision_log import DecisionLog, PostgresDecisionLog, SqliteDecisionLog
from cartwise.serving.settings import ServiceSettings

__all__ = ["build_components", "decision_log_for", "keys_path", "serving_dir"]

logger = logging.getLogger(__name__)


def serving_dir(settings: Settings) -> Path:
    return settings.data_dir / "serving"


def keys_path(settings: Settings) -> Path:
    """The API key file (hashes only) of the service."""
    return serving_dir(settings) / "api_keys.json"


def decision_log_for(settings: Settings) -> DecisionLog:
    """PostgreSQL when the warehouse is PostgreSQL, else a SQLite file under the data dir."""
    if settings.warehouse.type == "postgres":
        return PostgresDecisionLog(settings.warehouse.dsn, settings.warehouse.db_schema)
    return SqliteDecisionLog(serving_dir(settings) / "decision_log.sqlite")


def build_components(settings: Settings, service: ServiceSettings | None = None) -> ServiceComponents:
    """The production wiring: registry champions, the online store, the decision log, the key file."""
    from cartwise.bootstrap import make_online_store
    from cartwise.monitoring.gauges import gauges_path
    from cartwise.serving.adapters import RegistryModelSource, catalog_request_features_many
    from cartwise.serving.features import CircuitBreaker, OnlineStoreReader
    from cartwise.serving.security import KeyRing

    service = service or ServiceSettings()

    def products() -> Any:
        from cartwise.bootstrap import make_warehouse

        try:
            return make_warehouse(settings, read_only=True).read_table(
                "products", ["product_id", "price_minor", "title"]
            )
        except Exception as exc:  # recommendations then go unfiltered by price
            logger.warning("no product prices for affordability filtering: %s", exc)
            return None

    store = make_online_store(settings)
    if settings.online_store.type == "memory":
        _materialize_in_process(settings, store)
    reader = OnlineStoreReader(store, timeout_seconds=service.feature_timeout_seconds)
    return ServiceComponents(
        models=RegistryModelSource.from_settings(settings, products=products),
        features=CircuitBreaker(
            reader, failures=service.breaker_failures, cooldown_seconds=service.breaker_cooldown_seconds
        ),
        decision_log=decision_log_for(settings),
        keys=KeyRing.from_file(keys_path(settings)),
        gauges_file=gauges_path(settings.data_dir),
        request_features=catalog_request_features_many,
    )


def _materialize_in_process(settings: Settings, store: Any) -> None:
    """The in-process store starts empty in each service process: load it from the warehouse now.

    With Redis the store is shared and kept fresh by ``cartwise features
    materialize`` and ``serve-stream``; in-process, each worker loads its own copy
    at start so the embedded defaults serve real history rather than empty features.
    """
    from cartwise.bootstrap import make_warehouse
    from cartwise.features.online.materialize import materialize

    try:
        with make_warehouse(settings, read_only=True) as warehouse:
            result = materialize(warehouse, store)
    except Exception as exc:  # no warehouse yet: serve with empty history, flagged by the features
        logger.warning("in-process online store left empty: %s", exc)
        return
    logger.info("in-process online store: %s entity states from the warehouse", result.states)
