"""Bundle manifests and loaders, without MLflow: what a fresh process needs to load a registered model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartwise.errors import ModelBundleError
from cartwise.registry.bundle import MANIFEST_FILE, BundleManifest, load_scorer, read_manifest, stage_bundle
from cartwise.registry.registry import ModelRegistry
from cartwise.registry.schema import InputSchema


class HalfScorer:
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = np.full(len(X), 0.5)
        return np.column_stack([1 - p, p])


def load_half(directory: Path) -> HalfScorer:
    assert (directory / "weights.json").is_file()
    return HalfScorer()


def load_nothing(directory: Path) -> object:
    return object()


def _manifest(loader: str, kind: str = "classifier") -> BundleManifest:
    return BundleManifest("fraud", kind, loader, InputSchema.from_pairs([("amount", "double")]))  # type: ignore[arg-type]


def _raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    (raw / "weights.json").write_text(json.dumps([1.0]))
    return raw


def test_stage_and_load_through_the_manifest(tmp_path: Path) -> None:
    staged = stage_bundle(_raw(tmp_path), _manifest(f"{__name__}:load_half"), tmp_path / "staging")
    assert (staged / MANIFEST_FILE).is_file()
    assert read_manifest(staged) == _manifest(f"{__name__}:load_half")
    proba = load_scorer(staged).predict_proba(pd.DataFrame({"amount": [1.0, 2.0]}))
    assert proba.shape == (2, 2)


def test_empty_bundle_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelBundleError, match="missing or empty"):
        stage_bundle(tmp_path / "empty", _manifest("x:y"), tmp_path / "staging")


def test_loader_errors_are_clear(tmp_path: Path) -> None:
    bad_module = stage_bundle(_raw(tmp_path), _manifest("no_such_module_xyz:load"), tmp_path / "a")
    with pytest.raises(ModelBundleError, match="cannot be imported"):
        load_scorer(bad_module)
    wrong_type = stage_bundle(_raw(tmp_path), _manifest(f"{__name__}:load_nothing"), tmp_path / "b")
    with pytest.raises(ModelBundleError, match="lacks predict_proba"):
        load_scorer(wrong_type)
    with pytest.raises(ModelBundleError, match="not a bundle the cartwise registry wrote"):
        read_manifest(tmp_path)


def test_corrupt_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_FILE).write_text('{"model": "fraud", "kind": "regressor"}')
    with pytest.raises(ModelBundleError, match="not 'classifier' or 'recommender'"):
        read_manifest(tmp_path)


def test_registry_errors_hide_credentials() -> None:
    registry = ModelRegistry("postgresql://cartwise:s3cret@db.internal:5432/mlflow")
    assert "s3cret" not in registry._where()
    assert "db.internal:5432/mlflow" in registry._where()
