"""Errors raised by cartwise.

Every error derives from :class:`CartwiseError` and, where one fits, from the
built-in exception it resembles, so callers can catch either. Messages say what
was wrong (the table, column, row or setting) and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "CartwiseError",
    "ConfigError",
    "NotFittedError",
    "SchemaError",
    "WarehouseError",
    "UnknownTableError",
    "FeatureError",
    "RegistryError",
    "GateError",
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
