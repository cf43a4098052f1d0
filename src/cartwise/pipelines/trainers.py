"""Which trainer builds which model: ``fraud``, ``credit``, ``recs``, plus any registered at run time.

The built-in adapters are imported only when asked for, so ``cartwise models list``
does not pay for XGBoost or the text-embedding model.
"""

from __future__ import annotations

import importlib

from cartwise.config import Settings
from cartwise.errors import ConfigError
from cartwise.pipelines.base import ModelTrainer, TrainerFactory

__all__ = ["BUILTIN_TRAINERS", "get_trainer", "register_trainer", "trainer_names"]

BUILTIN_TRAINERS: dict[str, str] = {
    "fraud": "cartwise.pipelines.fraud:make_trainer",
    "credit": "cartwise.pipelines.credit:make_trainer",
    "recs": "cartwise.pipelines.recs:make_trainer",
}
_EXTRA: dict[str, TrainerFactory] = {}


def register_trainer(name: str, factory: TrainerFactory) -> None:
    """Make ``cartwise train NAME`` and the pipeline use ``factory(settings)`` for model ``name``."""
    _EXTRA[name] = factory


def trainer_names() -> list[str]:
    """Every model the pipeline trains, built-ins first."""
    return list(BUILTIN_TRAINERS) + [n for n in _EXTRA if n not in BUILTIN_TRAINERS]


def get_trainer(name: str, settings: Settings) -> ModelTrainer:
    """The trainer for ``name``; a clear error when the name is unknown or its adapter is unavailable."""
    if name in _EXTRA:
        return _EXTRA[name](settings)
    spec = BUILTIN_TRAINERS.get(name)
    if spec is None:
        raise ConfigError(f"unknown model {name!r}; cartwise trains: {', '.join(trainer_names())}")
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"the {name} trainer is not available ({module_name}: {exc})") from exc
    factory: TrainerFactory = getattr(module, attr)
    return factory(settings)
