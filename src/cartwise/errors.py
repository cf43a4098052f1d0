"""Errors raised by cartwise.

Every error derives from :class:`CartwiseError` and, where one fits, from the
built-in exception it resembles, so callers can catch either. Messages say what
was wrong (the table, column, row or setting) and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "CartwiseError",
    "ConfigError",
    "FeatureError",
    "GateError",
    "MetricInputError",
    "ModelBundleError",
    "NotFittedError",
    "OnlineStoreError",
    "ProtectedAttributeError",
    "RegistryError",
    "SchemaError",
    "StreamError",
    "TrainingDataError",
    "UnknownTableError",
    "WarehouseError",
]


class CartwiseError(Exception):
    """Root of every error cartwise raises on purpose."""


class ConfigError(CartwiseError, ValueError):
    """A setting is missing, misspelt or has a value cartwise cannot use."""


class NotFittedError(CartwiseError, ValueError, AttributeError):
    """A model was used before ``fit`` was called."""


class SchemaError(CartwiseError, ValueError):
    """Data does not match the table schema: missing column, wrong type, null or duplicate key."""


class WarehouseError(CartwiseError, RuntimeError):
    """The warehouse could not be reached or refused an operation."""


class UnknownTableError(WarehouseError, KeyError):
    """A table was asked for that the warehouse does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class FeatureError(CartwiseError, ValueError):
    """A feature definition or feature request is invalid."""


class RegistryError(CartwiseError, RuntimeError):
    """The model registry could not be reached or holds no such model."""


class GateError(CartwiseError, RuntimeError):
    """A promotion gate refused a model; the message names the gate and the margin."""


class OnlineStoreError(CartwiseError, RuntimeError):
    """The online feature store could not be reached or holds data cartwise cannot read."""


class StreamError(CartwiseError, RuntimeError):
    """An event stream could not be reached, or a message on it is not a cartwise event."""


class MetricInputError(CartwiseError, ValueError):
    """Labels, scores or amounts handed to a metric or policy are malformed (length, values, classes)."""


class ModelBundleError(CartwiseError, ValueError):
    """A saved model bundle is missing, incomplete or was written by an incompatible version."""


class ProtectedAttributeError(CartwiseError, ValueError):
    """A protected attribute (sex, age, marital status, ...) was given to a credit model as an input."""


class TrainingDataError(CartwiseError, ValueError):
    """The data a model would be trained on is unusable: wrong schema, an empty time window, no labels."""
