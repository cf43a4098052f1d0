"""The online store port: per-entity feature state, read for one checkout in one round trip.

An adapter stores opaque bytes under string keys (one key per entity and
feature view, see :mod:`cartwise.features.online.state`) plus a little
metadata (the stream processor's watermark), and writes a batch of them
atomically. Everything else — turning states into feature values at a request
time — is shared here, so every adapter returns the same numbers.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import logging
from collections.abc import Collection, Mapping, Sequence
from types import TracebackType
from typing import Any

from cartwise.errors import FeatureError
from cartwise.features.definitions import FeatureSet, OnDemandRow
from cartwise.features.online.plan import OnlinePlan, ViewPlan, build_plan, state_key
from cartwise.features.online.state import ViewState, features_from_bytes
from cartwise.streaming.events import to_micros

__all__ = ["DEFAULT_LATENESS", "OnlineStore"]

logger = logging.getLogger(__name__)

DEFAULT_LATENESS = dt.timedelta(hours=1)
"""How late (behind the newest event seen) an event may arrive and still be applied."""


@dataclasses.dataclass(frozen=True)
class _ReadPlan:
    """The views to read (and their key prefixes) and the derived features to compute for a subset."""

    views: tuple[ViewPlan, ...]
    prefixes: tuple[tuple[str, tuple[str, ...]], ...]
    derived: OnDemandRow


class OnlineStore(abc.ABC):
    """Feature state for the online path of one feature set.

    ``allowed_lateness`` sets how long rows are kept past the longest window, so
    that late events and reads up to that far behind the newest event are exact.
    """

    def __init__(
        self,
        feature_set: FeatureSet,
        *,
        key_prefix: str = "cw",
        allowed_lateness: dt.timedelta = DEFAULT_LATENESS,
    ) -> None:
        self.feature_set = feature_set
        self.key_prefix = key_prefix
        self.allowed_lateness = allowed_lateness
        self.plan: OnlinePlan = build_plan(
            feature_set, lateness_us=int(allowed_lateness / dt.timedelta(microseconds=1))
        )
        self._namespace = f"{key_prefix}:{feature_set.version}:"
        self._join_keys = feature_set.join_keys
        # per view, the start of its keys and the join keys that end them (see state_key)
        self._key_prefixes = tuple(
            (f"{self._namespace}{view.name}:", view.join_keys) for view in self.plan.views
        )
        self._subsets: dict[frozenset[str], _ReadPlan] = {}
        self._derived_row = OnDemandRow([od for od in feature_set.on_demand if not od.request_inputs])

    # -- what an adapter implements ------------------------------------------
    @abc.abstractmethod
    def read(self, keys: Sequence[str]) -> list[bytes | None]:
        """The bytes under each key (None where absent), in one round trip."""

    @abc.abstractmethod
    def write(
        self, states: Mapping[str, tuple[bytes, int | None]], meta: Mapping[str, bytes] | None = None
    ) -> None:
        """Store ``key -> (bytes, ttl in ms or None)`` and ``meta`` atomically."""

    def write_bulk(self, states: Mapping[str, tuple[bytes, int | None]]) -> None:
        """Store many states at once, not atomically (bulk loads)."""
        self.write(states)

    @abc.abstractmethod
    def read_meta(self, name: str) -> bytes | None:
        """A metadata value written with :meth:`write`."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove every key of this feature set's namespace."""

    def close(self) -> None:  # noqa: B027 - optional: adapters without connections keep it
        """Release connections. Safe to call twice."""

    # -- keys ------------------------------------------------------------------
    def key(self, view: ViewPlan, entity_keys: Sequence[Any]) -> str:
        return self._namespace + state_key(view, entity_keys)

    def meta_key(self, name: str) -> str:
        return f"{self._namespace}__meta:{name}"

    def ttl_ms(self, view: ViewPlan) -> int | None:
        """How long a state lives after its last write: past that it holds nothing any window sees."""
        return None if view.retention_us is None else view.retention_us // 1000

    # -- states ------------------------------------------------------------------
    def load_states(self, view: ViewPlan, entity_keys: Sequence[Sequence[Any]]) -> list[ViewState | None]:
        raw = self.read([self.key(view, k) for k in entity_keys])
        return [None if data is None else ViewState.decode(data, view) for data in raw]

    @property
    def watermark_us(self) -> int | None:
        """The newest event time applied (µs), as checkpointed with the states."""
        raw = self.read_meta("watermark")
        return None if raw is None else int(raw)

    # -- reading features -------------------------------------------------------
    def _entity_values(self, view: ViewPlan, entity_keys: Mapping[str, Any]) -> tuple[Any, ...]:
        try:
            return tuple(entity_keys[k] for k in view.join_keys)
        except KeyError:
            missing = [k for k in view.join_keys if k not in entity_keys]
            raise FeatureError(
                f"get_online_features needs {missing} for feature view {view.name}; "
                f"pass every join key of feature set {self.feature_set.name}: {list(self._join_keys)}"
            ) from None

    def get_online_features(
        self,
        entity_keys: Mapping[str, Any],
        at: dt.datetime | int,
        *,
        features: Collection[str] | None = None,
    ) -> dict[str, float | None]:
        """Every aggregation and derived feature at request time ``at``, read in one round trip.

        ``entity_keys`` maps each join key (``customer_id``, ``device_id``,
        ``merchant_id``) to its value. Features that read the request itself
        are not computed here: the caller evaluates them from the payload with
        :meth:`FeatureSet.compute_on_demand`.

        ``features`` limits the answer to those features (plus the inputs of the
        on-demand ones among them): only the views holding them are read and
        only their aggregations computed. Names this feature set does not
        define (request fields, say) are ignored.
        """
        return self.get_online_features_many([entity_keys], [at], features=features)[0]

    def get_online_features_many(
        self,
        entity_keys: Sequence[Mapping[str, Any]],
        at: Sequence[dt.datetime | int],
        *,
        features: Collection[str] | None = None,
    ) -> list[dict[str, float | None]]:
        """:meth:`get_online_features` for several requests, all read in one round trip.

        A state several requests share (their merchant, say) is fetched once.
        Each request's values are exactly those a read of its own would give.
        """
        if len(entity_keys) != len(at):
            raise FeatureError(f"{len(entity_keys)} requests but {len(at)} request times")
        if features is None:
            views, prefixes, derived = self.plan.views, self._key_prefixes, self._derived_row
        else:
            subset = frozenset(features)
            read_plan = self._subsets.get(subset)
            if read_plan is None:
                read_plan = self._subsets[subset] = self._read_plan(subset)
            views, prefixes, derived = read_plan.views, read_plan.prefixes, read_plan.derived
        slots: dict[str, int] = {}
        per_request: list[list[int]] = []
        for keys_of_one in entity_keys:
            try:
                keys = [
                    prefix + "|".join([str(keys_of_one[k]) for k in join_keys])
                    for prefix, join_keys in prefixes
                ]
            except KeyError:
                for view in views:
                    self._entity_values(view, keys_of_one)  # raises, naming the missing key
                raise
            per_request.append([slots.setdefault(key, len(slots)) for key in keys])
        raw = self.read(list(slots)) if slots else []
        outs: list[dict[str, float | None]] = []
        for positions, when in zip(per_request, at, strict=True):
            at_us = to_micros(when)
            out: dict[str, float | None] = {}
            for view, position in zip(views, positions, strict=True):
                data = raw[position]
                out.update(view.empty_features if data is None else features_from_bytes(view, data, at_us))
            outs.append(out)
        if derived.features:
            for out, extra in zip(outs, derived.many(outs), strict=True):
                out.update(extra)
        return outs

    def _read_plan(self, wanted: frozenset[str]) -> _ReadPlan:
        """The views, trimmed to the aggregations needed for ``wanted`` (built once per subset)."""
        need = set(wanted)
        by_name = {od.name: od for od in self.feature_set.on_demand}
        stack = [by_name[n] for n in wanted if n in by_name]
        while stack:  # on-demand features read other features: pull those in too
            od = stack.pop()
            for name in od.feature_inputs:
                if name not in need:
                    need.add(name)
                    if name in by_name:
                        stack.append(by_name[name])
        views: list[ViewPlan] = []
        prefixes: list[tuple[str, tuple[str, ...]]] = []
        for view, prefix in zip(self.plan.views, self._key_prefixes, strict=True):
            aggregations = tuple(a for a in view.aggregations if a.feature in need)
            if aggregations:
                views.append(
                    view
                    if len(aggregations) == len(view.aggregations)
                    else dataclasses.replace(view, aggregations=aggregations)
                )
                prefixes.append(prefix)
        derived = OnDemandRow(
            [od for od in self.feature_set.on_demand if not od.request_inputs and od.name in need]
        )
        return _ReadPlan(tuple(views), tuple(prefixes), derived)

    # -- lifecycle -------------------------------------------------------------
    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
