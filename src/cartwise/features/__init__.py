"""Feature definitions, point-in-time offline retrieval, online stores.

The definitions API lives in :mod:`cartwise.features.definitions`, the cartwise
feature set in :mod:`cartwise.features.catalog`, training frames in
:mod:`cartwise.features.offline`.
"""

from cartwise.features.definitions import (
    FEATURE_TIME,
    Aggregation,
    DerivedFeature,
    Entity,
    EventSource,
    Feature,
    FeatureSet,
    FeatureView,
    OnDemandFeature,
    RequestFeature,
    parse_window,
)

__all__ = [
    "FEATURE_TIME",
    "Aggregation",
    "DerivedFeature",
    "Entity",
    "EventSource",
    "Feature",
    "FeatureSet",
    "FeatureView",
    "OnDemandFeature",
    "RequestFeature",
    "parse_window",
]
