"""The ASGI entry uvicorn imports in each worker: ``cartwise.serving.asgi:app_factory`` (a factory)."""

from __future__ import annotations

import json
import os

from fastapi import FastAPI

__all__ = ["SERVICE_SETTINGS_ENV", "app_factory"]

SERVICE_SETTINGS_ENV = "CARTWISE_SERVICE_SETTINGS"
"""JSON of :class:`~cartwise.serving.settings.ServiceSettings` overrides, set by ``cartwise serve``."""


def app_factory() -> FastAPI:
    """The decision service on the settings of the environment (CARTWISE_CONFIG, CARTWISE_DATA_DIR)."""
    from cartwise.config import load_settings
    from cartwise.serving.app import create_app
    from cartwise.serving.bootstrap import build_components
    from cartwise.serving.settings import ServiceSettings

    settings = load_settings()
    service = ServiceSettings.model_validate(json.loads(os.environ.get(SERVICE_SETTINGS_ENV, "{}")))
    return create_app(service, build_components(settings, service))
