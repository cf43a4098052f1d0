"""MLflow "model from code" entry point for cartwise bundles (executed by MLflow when it loads the model)."""

from __future__ import annotations

import mlflow

from cartwise.registry.pyfunc import CartwiseBundleModel

__all__: list[str] = []

mlflow.models.set_model(CartwiseBundleModel())
