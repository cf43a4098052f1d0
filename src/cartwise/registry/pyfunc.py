"""The MLflow pyfunc flavour of a cartwise bundle, so ``mlflow models serve`` and ``mlflow.pyfunc.load_model`` work.

The pyfunc is logged as "model from code" (``pyfunc_entry.py``) rather than a
pickle: loading it runs no pickled code, only the bundle's declared loader.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModel

from cartwise.registry.bundle import load_scorer, read_manifest

__all__ = ["CartwiseBundleModel"]


class CartwiseBundleModel(PythonModel):  # type: ignore[misc]
    """Scores a DataFrame with the bundle in the model's ``bundle`` artifact.

    Classifiers return the probability of the positive class per row; recommenders
    take a ``user_id`` column and return top-k rows (``k`` from params, default 10).
    """

    def load_context(self, context: Any) -> None:
        from pathlib import Path

        bundle_dir = Path(context.artifacts["bundle"])
        self.manifest_ = read_manifest(bundle_dir)
        self.scorer_ = load_scorer(bundle_dir)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        if self.manifest_.kind == "classifier":
            columns = list(self.manifest_.input_schema.names)
            proba = np.asarray(self.scorer_.predict_proba(model_input[columns]))
            return pd.Series(proba[:, 1], name="probability")
        k = int((params or {}).get("k", 10))
        return self.scorer_.recommend(model_input["user_id"].to_numpy(), k)
