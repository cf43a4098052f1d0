"""MLflow tracking and registry: log, register, gate, promote, roll back.

Importing this package does not import MLflow (it is slow to import); the
functions below do when called.

- :func:`load_bundle` — the local directory of ``model@alias`` (``champion`` or
  ``challenger``), downloaded once into ``<data_dir>/bundle_cache`` and served from
  there if the registry is unreachable. :func:`cartwise.registry.bundle.load_scorer`
  turns it into a scorer, or the model kind's own ``load_bundle`` does.
- :class:`~cartwise.registry.registry.ModelRegistry` — the MLflow client wrapper.
- :mod:`~cartwise.registry.gates`, :mod:`~cartwise.registry.promotion`,
  :mod:`~cartwise.registry.history` — gated promotion, rollback and its audit trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cartwise.config import Settings

__all__ = ["load_bundle"]


def load_bundle(model: str, alias: str = "champion", *, settings: Settings | None = None) -> Path:
    """The bundle directory ``model@alias`` points at (cached under the data dir; see ModelRegistry.load_bundle)."""
    from cartwise.config import load_settings
    from cartwise.registry.registry import ModelRegistry

    return ModelRegistry.from_settings(settings or load_settings()).load_bundle(model, alias)
