"""Self-contained model bundles: a directory a fresh process can load without the training code's state.

A model kind writes its bundle (model, feature list, calibration, thresholds/policy
parameters, reason-code map) into a directory. The registry adds one file,
``cartwise_bundle.json`` (the manifest): which model it is, its kind, its input
schema, and ``loader`` — the ``"module:function"`` that turns the directory into a
scorer. :func:`load_scorer` needs nothing but the directory.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from cartwise.errors import ModelBundleError
from cartwise.registry.schema import InputSchema

__all__ = [
    "MANIFEST_FILE",
    "BundleManifest",
    "ClassifierScorer",
    "RecommenderScorer",
    "load_scorer",
    "read_manifest",
    "stage_bundle",
]

MANIFEST_FILE = "cartwise_bundle.json"
ModelKind = Literal["classifier", "recommender"]


@runtime_checkable
class ClassifierScorer(Protocol):
    """A loaded classifier: calibrated probabilities of the positive class in column 1."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...


@runtime_checkable
class RecommenderScorer(Protocol):
    """A loaded recommender."""

    def recommend(self, user_ids: Any, k: int = 10, *, remove_seen: bool = True) -> pd.DataFrame: ...


@dataclass(frozen=True)
class BundleManifest:
    """What the registry knows about a bundle directory."""

    model: str
    kind: ModelKind
    loader: str
    input_schema: InputSchema
    extra: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "model": self.model,
                "kind": self.kind,
                "loader": self.loader,
                "input_schema": json.loads(self.input_schema.to_json()),
                "extra": dict(self.extra),
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "manifest") -> BundleManifest:
        try:
            raw = json.loads(text)
            kind = raw["kind"]
            if kind not in ("classifier", "recommender"):
                raise ValueError(f"kind {kind!r} is not 'classifier' or 'recommender'")
            return cls(
                model=str(raw["model"]),
                kind=kind,
                loader=str(raw["loader"]),
                input_schema=InputSchema.from_json(json.dumps(raw["input_schema"])),
                extra={str(k): str(v) for k, v in raw.get("extra", {}).items()},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelBundleError(f"{source} is not a valid cartwise bundle manifest: {exc}") from exc


def stage_bundle(bundle_dir: Path, manifest: BundleManifest, staging_dir: Path) -> Path:
    """Copy ``bundle_dir`` to ``staging_dir/bundle`` and add the manifest; returns the staged directory."""
    if not bundle_dir.is_dir() or not any(bundle_dir.iterdir()):
        raise ModelBundleError(
            f"bundle directory {bundle_dir} is missing or empty; the trainer's write_bundle must write its files there"
        )
    target = staging_dir / "bundle"
    shutil.copytree(bundle_dir, target)
    (target / MANIFEST_FILE).write_text(manifest.to_json())
    return target


def read_manifest(bundle_dir: Path) -> BundleManifest:
    """The manifest of a staged or downloaded bundle directory."""
    path = Path(bundle_dir) / MANIFEST_FILE
    if not path.is_file():
        raise ModelBundleError(
            f"{bundle_dir} holds no {MANIFEST_FILE}; it is not a bundle the cartwise registry wrote "
            "(load it with `cartwise.registry.load_bundle(model, alias)`)"
        )
    return BundleManifest.from_json(path.read_text(), source=str(path))


def _import_loader(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ModelBundleError(f"bundle loader {spec!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelBundleError(
            f"bundle loader module {module_name!r} cannot be imported ({exc}); install the package that defines it"
        ) from exc
    loader = getattr(module, attr, None)
    if not callable(loader):
        raise ModelBundleError(f"bundle loader {spec!r}: {module_name} has no callable {attr!r}")
    return loader


def load_scorer(bundle_dir: Path) -> Any:
    """Load a bundle directory into its scorer (``predict_proba`` or ``recommend``) using its manifest."""
    manifest = read_manifest(bundle_dir)
    scorer = _import_loader(manifest.loader)(Path(bundle_dir))
    wanted = ClassifierScorer if manifest.kind == "classifier" else RecommenderScorer
    if not isinstance(scorer, wanted):
        raise ModelBundleError(
            f"{manifest.loader} returned {type(scorer).__name__}, which lacks "
            f"{'predict_proba' if manifest.kind == 'classifier' else 'recommend'} for a {manifest.kind} bundle"
        )
    return scorer
