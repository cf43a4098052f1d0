"""Validation of a :class:`~cartwise.features.definitions.FeatureSet`.

Every error names the object at fault ("feature view customer_velocity: window
'3x' is not a window ...") and says how to fix it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cartwise.domain.schemas import TABLES
from cartwise.errors import FeatureError
from cartwise.features.definitions import (
    AGG_FUNCTIONS,
    FEATURE_TIME,
    LABEL_FUNCTIONS,
    FeatureView,
    _check_name,
    parse_window,
)
from cartwise.features.sql import referenced_columns, referenced_tables

if TYPE_CHECKING:
    from cartwise.features.definitions import FeatureSet

__all__ = ["validate_feature_set", "validate_view"]


def _fail(owner: str, message: str) -> FeatureError:
    return FeatureError(f"{owner}: {message}")


def _source_columns(view: FeatureView) -> set[str] | None:
    """Columns of the view's source when they can be known without running it."""
    src = view.source
    owner = f"feature view {view.name}"
    if src.query is not None:
        unknown = sorted(t for t in referenced_tables(src.query) if t not in TABLES)
        if unknown:
            raise _fail(
                owner,
                f"source {src.name} reads unknown tables {unknown}; cartwise tables are {sorted(TABLES)}",
            )
        return None
    spec = TABLES.get(src.table)
    if spec is None:
        raise _fail(
            owner,
            f"source {src.name} names table {src.table!r}, which is not a cartwise table "
            f"({', '.join(sorted(TABLES))}); give a query= for anything else",
        )
    return set(spec.columns)


def validate_view(view: FeatureView) -> None:
    """Raise :class:`FeatureError` if ``view`` cannot be computed."""
    owner = f"feature view {view.name}"
    _check_name(view.name, "feature view")
    if not view.entities:
        raise _fail(owner, "it has no entity; give entities=(customer,) or similar")
    if len(view.keys) != len(view.entities):
        raise _fail(owner, f"key_columns {view.keys} do not match its {len(view.entities)} entities")
    if not view.aggregations:
        raise _fail(owner, "it has no aggregation")
    src = view.source
    columns = _source_columns(view)
    needed = {
        "timestamp_column": src.timestamp_column,
        **{f"key column for {e.name}": k for e, k in zip(view.entities, view.keys, strict=True)},
    }
    if src.known_at_column is not None:
        needed["known_at_column"] = src.known_at_column
    if columns is not None:
        for what, col in needed.items():
            if col not in columns:
                raise _fail(
                    owner,
                    f"{what} {col!r} is not a column of table {src.table} (its columns: {', '.join(sorted(columns))})",
                )
    for agg in view.aggregations:
        label = f"{owner}: aggregation {agg.function}({agg.column or '*'})"
        if agg.function not in AGG_FUNCTIONS:
            raise FeatureError(f"{label}: function {agg.function!r} is not one of {', '.join(AGG_FUNCTIONS)}")
        if agg.column is None and agg.function != "count":
            raise FeatureError(f"{label}: {agg.function} needs a column or expression")
        if not agg.windows:
            raise FeatureError(f"{label}: give at least one window")
        if len(set(agg.windows)) != len(agg.windows):
            raise FeatureError(f"{label}: windows {agg.windows} repeat")
        for window in agg.windows:
            parse_window(window, owner=owner)
        if src.is_label_source and agg.function not in LABEL_FUNCTIONS and not agg.uses_feature_time:
            raise FeatureError(
                f"{label}: source {src.name} is label-delayed (known_at {src.known_at_column}); "
                f"it supports {sorted(LABEL_FUNCTIONS)}"
            )
        if agg.function == "last" and agg.uses_feature_time:
            raise FeatureError(f"{label}: last cannot use {FEATURE_TIME}; use max over a time expression")
        if agg.name is not None:
            _check_name(agg.name, f"{label}: aggregation")
        agg.base_name(src)  # raises when an expression has no name
        if columns is not None:
            for text in (agg.column, agg.where):
                if not text:
                    continue
                unknown = sorted(referenced_columns(text) - columns - {FEATURE_TIME})
                if unknown:
                    raise FeatureError(
                        f"{label}: {text!r} refers to {unknown}, not columns of table {src.table}"
                    )


def validate_feature_set(feature_set: FeatureSet) -> None:
    """Raise :class:`FeatureError` naming the first object at fault."""
    seen_views: set[str] = set()
    for view in feature_set.views:
        if view.name in seen_views:
            raise FeatureError(f"feature view {view.name} is defined twice in feature set {feature_set.name}")
        seen_views.add(view.name)
        validate_view(view)
    names: dict[str, str] = {}
    entity_keys: dict[str, tuple[str, str]] = {}
    for view in feature_set.views:
        for entity in view.entities:
            prior = entity_keys.setdefault(entity.name, (entity.join_key, entity.dtype))
            if prior != (entity.join_key, entity.dtype):
                raise FeatureError(
                    f"feature view {view.name}: entity {entity.name} has join key {entity.join_key} "
                    f"({entity.dtype}) but another view declares it as {prior[0]} ({prior[1]})"
                )
        for feature in view.features:
            _check_name(feature.name, f"feature view {view.name}: feature")
            if feature.name in names:
                raise FeatureError(
                    f"feature view {view.name}: feature {feature.name} is already defined by "
                    f"{names[feature.name]}; give the aggregation a distinct name="
                )
            names[feature.name] = f"feature view {names.get(feature.name, view.name)}"
    for od in feature_set.on_demand:
        owner = f"on-demand feature {od.name}"
        _check_name(od.name, "on-demand feature")
        if od.name in names:
            raise FeatureError(f"{owner}: the name is already defined by {names[od.name]}")
        if not callable(od.function):
            raise FeatureError(f"{owner}: function {od.function!r} is not callable")
        if not od.inputs:
            raise FeatureError(f"{owner}: it has no input")
        if od.arguments and sorted(od.arguments) != sorted(od.feature_inputs + od.request_inputs):
            raise FeatureError(
                f"{owner}: arguments {od.arguments} must list exactly its feature and request inputs"
            )
        for inp in od.feature_inputs:
            if inp not in names:
                raise FeatureError(
                    f"{owner}: feature input {inp!r} is not defined before it in feature set {feature_set.name}"
                )
        names[od.name] = owner
