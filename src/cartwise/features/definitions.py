"""Typed feature definitions: entities, event sources, windowed aggregations, on-demand features.

One definition serves both the offline path (point-in-time training frames, on
DuckDB, PostgreSQL or Spark) and the online path (the stream processor and the
serving layer), so training/serving skew cannot creep in.

The pieces
----------
:class:`Entity`
    Something features describe: a customer, a device, a merchant. It has a
    join key (the spine / request column that identifies it) and a dtype.
:class:`EventSource`
    A warehouse table (or a SELECT over warehouse tables) whose rows are
    events, with the column that says when each event happened. A source with
    a ``known_at_column`` is a *label source* (chargebacks, credit outcomes):
    a row of it counts for a feature at time ``t`` only once it is known,
    ``known_at < t``.
:class:`Aggregation`
    One function over one column (or SQL expression) of the source rows,
    computed for several windows.
:class:`FeatureView`
    Binds a source, the entities it is keyed by and its aggregations. Each
    (aggregation, window) pair is one feature, named
    ``{prefix}__{aggregation name}__{function}__{window}``, e.g.
    ``customer__amount_minor__sum__30d``.
:class:`OnDemandFeature` (and its two flavours :class:`DerivedFeature`, :class:`RequestFeature`)
    A feature computed by one numpy function from other features and/or fields
    of the request itself (amount ÷ the customer's 30-day mean, hour of day).
    The same function runs offline (column-wise on the training frame) and
    online (on one request), via :meth:`OnDemandFeature.compute`.
:class:`FeatureSet`
    A validated collection of views and on-demand features, with a stable
    content hash (:attr:`FeatureSet.version`) and group selection
    (``feature_set.select("fraud")``).

Point-in-time semantics (the contract both paths implement)
-----------------------------------------------------------
For a feature at time ``t`` with window ``w`` an event with event time ``ts``
counts when ``t - w <= ts < t``: the window is half-open, the event exactly
at ``t - w`` is in, the event exactly at ``t`` is out (strictly earlier events
only). The window ``"all"`` means ``ts < t`` with no lower bound. For a label
source the row must also be known: ``known_at < t``. Windows are given as
``<int><unit>`` with unit ``s``, ``m``, ``h``, ``d`` or ``w`` (``"10m"``,
``"24h"``, ``"90d"``), or ``"all"``.

Functions: ``count`` (rows, or non-null values when a column is given),
``sum``, ``mean``, ``min``, ``max``, ``count_distinct`` (distinct non-null
values), ``last`` (the value of the latest event in the window; ties on the
timestamp are broken by the source's ``order_column``). Label sources support
``count``, ``sum`` and ``mean``, and any function but ``last`` in an
aggregation that uses ``feature_time``.

With no event in the window ``count``, ``sum`` and ``count_distinct`` are 0 and
``mean``, ``min``, ``max`` and ``last`` are NULL, unless the aggregation sets
``default``. Counts come out as ``int64``, everything else as ``float64``.

Expressions (``Aggregation.column`` and ``Aggregation.where``) are SQL in
DuckDB's dialect over one source row; cartwise carries them to PostgreSQL and
Spark SQL with sqlglot. ``EPOCH_US(ts)`` (microseconds since the epoch) is
available on every engine. The identifier ``feature_time`` names the time the
feature is computed for (a TIMESTAMP); an aggregation that uses it (e.g. "is
this installment still unpaid at ``t``") is evaluated by a point-in-time join
offline and must be recomputed at request time online
(:attr:`Aggregation.uses_feature_time`).

On-demand inputs: feature inputs arrive as ``float64`` arrays (NULL → NaN);
request inputs as arrays of the request's values, timestamps as ``int64``
microseconds since the epoch (UTC). The reserved request input
``feature_time`` is the time of the request (offline: the spine timestamp).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from cartwise.errors import FeatureError

__all__ = [
    "FEATURE_TIME",
    "LABEL_FUNCTIONS",
    "AggFunction",
    "Aggregation",
    "DerivedFeature",
    "Entity",
    "EventSource",
    "Feature",
    "FeatureSet",
    "FeatureView",
    "OnDemandFeature",
    "OnDemandRow",
    "RequestFeature",
    "parse_window",
    "window_micros",
]

logger = logging.getLogger(__name__)

AggFunction = Literal["count", "sum", "mean", "min", "max", "count_distinct", "last"]
AGG_FUNCTIONS: tuple[str, ...] = get_args(AggFunction)
LABEL_FUNCTIONS: frozenset[str] = frozenset({"count", "sum", "mean"})
"""Functions a label-delayed (``known_at``) source supports."""
COUNT_FUNCTIONS: frozenset[str] = frozenset({"count", "count_distinct"})

FEATURE_TIME = "feature_time"
"""Reserved name: the time a feature is computed for (spine timestamp / request time)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_WINDOW = re.compile(r"^([1-9][0-9]*)([smhdw])$")
_UNIT_MICROS = {
    "s": 1_000_000,
    "m": 60 * 1_000_000,
    "h": 3600 * 1_000_000,
    "d": 86400 * 1_000_000,
    "w": 7 * 86400 * 1_000_000,
}
ALL = "all"


def parse_window(window: str, *, owner: str = "") -> int | None:
    """Microseconds of a window like ``"10m"``/``"24h"``/``"90d"``; ``None`` for ``"all"``.

    Raises :class:`~cartwise.errors.FeatureError` naming ``owner`` for anything else.
    """
    if window == ALL:
        return None
    match = _WINDOW.match(window) if isinstance(window, str) else None
    if match is None:
        where = f"{owner}: " if owner else ""
        raise FeatureError(
            f"{where}window {window!r} is not a window: write <positive int><unit> with unit "
            "s, m, h, d or w (e.g. '10m', '24h', '30d'), or 'all'"
        )
    return int(match.group(1)) * _UNIT_MICROS[match.group(2)]


def window_micros(window: str) -> int | None:
    """Alias of :func:`parse_window` for callers that only need the length."""
    return parse_window(window)


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise FeatureError(
            f"{what} name {name!r} is not valid: use lower-case letters, digits and underscores, "
            "starting with a letter"
        )


# --------------------------------------------------------------------------- entities, sources


@dataclass(frozen=True)
class Entity:
    """Something features describe, identified by ``join_key`` in spines and requests."""

    name: str
    join_key: str
    dtype: Literal["int64", "string"] = "int64"
    description: str = ""


@dataclass(frozen=True)
class EventSource:
    """A table of events with the column that says when each happened.

    ``query`` (optional) is a SELECT in DuckDB's dialect used instead of the
    bare table, e.g. to join order times onto installments; ``table`` then
    names its main table (for documentation and validation). ``known_at_column``
    makes it a label source. ``order_column`` breaks ties between events with
    the same timestamp (defaults to the first primary-key column of ``table``
    when the table is a cartwise table).
    """

    name: str
    table: str
    timestamp_column: str
    known_at_column: str | None = None
    query: str | None = None
    order_column: str | None = None
    description: str = ""

    @property
    def is_label_source(self) -> bool:
        return self.known_at_column is not None

    @property
    def tie_breaker(self) -> str | None:
        if self.order_column is not None:
            return self.order_column
        from cartwise.domain.schemas import TABLES

        spec = TABLES.get(self.table)
        return spec.primary_key[0] if spec is not None else None


@dataclass(frozen=True)
class Aggregation:
    """``function`` over ``column`` for each window in ``windows``.

    ``column`` is a column name or a SQL expression over one source row (None
    for a plain row count). ``name`` is the middle part of the feature names;
    it defaults to ``column`` when that is a plain column name, and to the
    source's name for a row count. ``where`` is an optional SQL predicate over
    the source row. ``default`` replaces the value when the window holds no
    event (see the module docstring for the built-in defaults).
    """

    function: AggFunction
    column: str | None = None
    windows: tuple[str, ...] = ("1h", "24h", "7d", "30d")
    name: str | None = None
    where: str | None = None
    default: float | None = None
    description: str = ""

    @cached_property
    def uses_feature_time(self) -> bool:
        """True when ``column`` or ``where`` refers to :data:`FEATURE_TIME`."""
        from cartwise.features.sql import referenced_columns

        cols: set[str] = set()
        for text in (self.column, self.where):
            if text:
                cols |= referenced_columns(text)
        return FEATURE_TIME in cols

    def base_name(self, source: EventSource) -> str:
        if self.name is not None:
            return self.name
        if self.column is None:
            return source.name
        if _NAME.match(self.column):
            return self.column
        raise FeatureError(
            f"aggregation {self.function}({self.column}) on source {source.name}: "
            "an expression needs a name= for its features"
        )

    def default_value(self) -> float | None:
        if self.default is not None:
            return self.default
        return 0.0 if self.function in COUNT_FUNCTIONS or self.function == "sum" else None


@dataclass(frozen=True)
class Feature:
    """One materialised feature: a (view, aggregation, window) triple, flattened."""

    name: str
    view: str
    entities: tuple[str, ...]
    join_keys: tuple[str, ...]
    source: str
    function: str
    column: str | None
    window: str
    window_us: int | None
    where: str | None
    default: float | None
    label_delayed: bool
    uses_feature_time: bool
    groups: tuple[str, ...]
    aggregation: Aggregation = field(repr=False, compare=False)

    @property
    def dtype(self) -> Literal["int64", "float64"]:
        return "int64" if self.function in COUNT_FUNCTIONS else "float64"


@dataclass(frozen=True)
class FeatureView:
    """A source keyed by one or more entities, with its aggregations.

    ``key_columns`` are the source's columns for each entity (default: each
    entity's ``join_key``). ``prefix`` starts each feature name (default: the
    entity names joined by ``_``). ``groups`` are the model families that use
    the view (``"fraud"``, ``"credit"``, ``"recs"``).
    """

    name: str
    source: EventSource
    entities: tuple[Entity, ...]
    aggregations: tuple[Aggregation, ...]
    key_columns: tuple[str, ...] | None = None
    prefix: str | None = None
    groups: tuple[str, ...] = ()
    description: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """Source columns holding the entity keys."""
        return self.key_columns if self.key_columns is not None else tuple(e.join_key for e in self.entities)

    @property
    def join_keys(self) -> tuple[str, ...]:
        """Spine / request columns holding the entity keys."""
        return tuple(e.join_key for e in self.entities)

    @property
    def feature_prefix(self) -> str:
        return self.prefix if self.prefix is not None else "_".join(e.name for e in self.entities)

    @property
    def features(self) -> tuple[Feature, ...]:
        out = []
        for agg in self.aggregations:
            base = agg.base_name(self.source)
            for window in agg.windows:
                out.append(
                    Feature(
                        name=f"{self.feature_prefix}__{base}__{agg.function}__{window}",
                        view=self.name,
                        entities=tuple(e.name for e in self.entities),
                        join_keys=self.join_keys,
                        source=self.source.name,
                        function=agg.function,
                        column=agg.column,
                        window=window,
                        window_us=parse_window(window, owner=f"feature view {self.name}"),
                        where=agg.where,
                        default=agg.default_value(),
                        label_delayed=self.source.is_label_source,
                        uses_feature_time=agg.uses_feature_time,
                        groups=self.groups,
                        aggregation=agg,
                    )
                )
        return tuple(out)


# --------------------------------------------------------------------------- on-demand features

OnDemandFunction = Callable[..., npt.ArrayLike]


@dataclass(frozen=True)
class OnDemandFeature:
    """A feature computed from other features and/or the request, by one numpy function.

    ``function`` receives one positional numpy array per input, in the order
    of ``arguments`` (default: ``feature_inputs`` then ``request_inputs``), all
    of equal length, and returns an array of that length (``float64``; NaN
    means missing). It must be elementwise: offline it is called once on whole
    columns, online on arrays of length one — the same code on both paths.
    """

    name: str
    function: OnDemandFunction
    feature_inputs: tuple[str, ...] = ()
    request_inputs: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    description: str = ""
    arguments: tuple[str, ...] = ()

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input, in the order the function receives them."""
        return self.arguments or (self.feature_inputs + self.request_inputs)

    def compute(self, values: Mapping[str, Any]) -> npt.NDArray[np.float64]:
        """Evaluate on ``values`` (input name → array or scalar); returns ``float64``."""
        missing = [name for name in self.inputs if name not in values]
        if missing:
            raise FeatureError(
                f"on-demand feature {self.name}: inputs {missing} are missing; it needs {list(self.inputs)}"
            )
        args = [_as_array(values[name], feature=name in self.feature_inputs) for name in self.inputs]
        with np.errstate(divide="ignore", invalid="ignore"):
            result = np.asarray(self.function(*args), dtype=np.float64)
        return np.atleast_1d(result)

    def fingerprint(self) -> str:
        """Stable text for the version hash: the function's name and source."""
        fn = self.function
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            source = ""
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}:{source}"


class DerivedFeature(OnDemandFeature):
    """An on-demand feature of other features only (e.g. a chargeback rate)."""


class RequestFeature(OnDemandFeature):
    """An on-demand feature that reads the request itself (e.g. amount ÷ 30-day mean)."""


def _as_array(value: Any, *, feature: bool) -> npt.NDArray[Any]:
    array = np.asarray(value)
    if feature:
        if array.dtype == object:
            array = np.array([np.nan if v is None else v for v in array.ravel()], dtype=np.float64)
        return np.atleast_1d(array.astype(np.float64))
    return np.atleast_1d(array)


class OnDemandRow:
    """Evaluates on-demand features for one request, one numpy call per function.

    The functions are elementwise, so the features that share a function (and
    the kind of each argument) are evaluated together on arrays holding each
    feature's inputs: the same functions as offline, on a handful of arrays
    instead of one call per feature. Features are grouped by dependency level,
    so a feature reading another on-demand feature sees its value.
    """

    def __init__(self, features: Sequence[OnDemandFeature]) -> None:
        self.features = tuple(features)
        level: dict[str, int] = {}
        for od in self.features:  # definitions come after what they read
            level[od.name] = 1 + max((level.get(i, -1) for i in od.feature_inputs), default=-1)
        groups: dict[tuple[int, int, tuple[bool, ...]], list[OnDemandFeature]] = {}
        for od in self.features:
            kinds = tuple(name in od.feature_inputs for name in od.inputs)
            groups.setdefault((level[od.name], id(od.function), kinds), []).append(od)
        self._batches: list[_Batch] = []
        for (_, _, kinds), group in sorted(groups.items(), key=lambda kv: kv[0][0]):
            inputs = [od.inputs for od in group]
            self._batches.append(
                _Batch(
                    function=group[0].function,
                    kinds=kinds,
                    names=tuple(od.name for od in group),
                    inputs=tuple(inputs),
                    columns=tuple(tuple(i[p] for i in inputs) for p in range(len(kinds))),
                    needed=frozenset(n for i in inputs for n in i),
                )
            )
        # the inputs no feature here produces: a row holding all of them gets every feature
        self._external = frozenset(n for b in self._batches for n in b.needed) - {
            od.name for od in self.features
        }

    def __call__(self, values: Mapping[str, Any]) -> dict[str, float | None]:
        """Each feature whose inputs ``values`` holds (None and NaN mean missing), as a float or None."""
        env: dict[str, Any] = {}
        out: dict[str, float | None] = {}
        with np.errstate(divide="ignore", invalid="ignore"):
            for batch in self._batches:
                names, columns = batch.names, batch.columns
                if not all(n in values or n in env for n in batch.needed):
                    keep = [
                        j
                        for j, inputs in enumerate(batch.inputs)
                        if all(n in values or n in env for n in inputs)
                    ]
                    if not keep:
                        continue
                    names = tuple(names[j] for j in keep)
                    columns = tuple(tuple(column[j] for j in keep) for column in columns)
                args = []
                for column, is_feature in zip(columns, batch.kinds, strict=True):
                    got = [env[n] if n in env else values[n] for n in column]
                    if is_feature:
                        args.append(np.array([np.nan if v is None else v for v in got], dtype=np.float64))
                    else:
                        args.append(np.asarray(got))
                results = np.asarray(batch.function(*args), dtype=np.float64).tolist()
                for name, result in zip(names, results, strict=True):
                    env[name] = result
                    out[name] = None if result != result else result
        return out

    def many(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, float | None]]:
        """:meth:`__call__` for each of ``rows``, with one numpy call per function for all of them.

        Rows that lack an input some other row holds are evaluated on their own,
        so every row gets exactly the features :meth:`__call__` would give it.
        """
        if len(rows) == 1 or not rows:
            return [self(row) for row in rows]
        if not all(all(n in row for n in self._external) for row in rows):
            return [self(row) for row in rows]
        n = len(rows)
        envs: list[dict[str, Any]] = [{} for _ in rows]
        outs: list[dict[str, float | None]] = [{} for _ in rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            for batch in self._batches:
                args = []
                for column, is_feature in zip(batch.columns, batch.kinds, strict=True):
                    got = [
                        env[name] if name in env else row[name]
                        for row, env in zip(rows, envs, strict=True)
                        for name in column
                    ]
                    if is_feature:
                        args.append(np.array([np.nan if v is None else v for v in got], dtype=np.float64))
                    else:
                        args.append(np.asarray(got))
                results = np.asarray(batch.function(*args), dtype=np.float64).tolist()
                width = len(batch.names)
                for r in range(n):
                    env, out = envs[r], outs[r]
                    for name, result in zip(batch.names, results[r * width : (r + 1) * width], strict=True):
                        env[name] = result
                        out[name] = None if result != result else result
        return outs


@dataclass(frozen=True)
class _Batch:
    """On-demand features evaluated by one call: per argument position, each feature's input."""

    function: OnDemandFunction
    kinds: tuple[bool, ...]
    names: tuple[str, ...]
    inputs: tuple[tuple[str, ...], ...]
    columns: tuple[tuple[str, ...], ...]
    needed: frozenset[str]


# --------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class FeatureSet:
    """A validated collection of feature views and on-demand features.

    Construction validates everything and raises :class:`FeatureError`
    naming the offending object. ``version`` is a content hash of the
    definitions: the same definitions give the same version in any process.
    """

    views: tuple[FeatureView, ...]
    on_demand: tuple[OnDemandFeature, ...] = ()
    name: str = "cartwise"

    def __post_init__(self) -> None:
        from cartwise.features.validation import validate_feature_set

        validate_feature_set(self)

    # -- lookup ------------------------------------------------------------
    @cached_property
    def features(self) -> tuple[Feature, ...]:
        """Every aggregation feature, in definition order."""
        return tuple(f for view in self.views for f in view.features)

    @property
    def feature_names(self) -> list[str]:
        """Aggregation features then on-demand features, in definition order."""
        return [f.name for f in self.features] + [o.name for o in self.on_demand]

    def __len__(self) -> int:
        return len(self.features) + len(self.on_demand)

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise FeatureError(f"feature {name!r} is not defined in feature set {self.name}")

    def view(self, name: str) -> FeatureView:
        for v in self.views:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.views)
        raise FeatureError(f"feature view {name} does not exist (feature set {self.name} has: {known})")

    @property
    def entities(self) -> tuple[Entity, ...]:
        seen: dict[str, Entity] = {}
        for view in self.views:
            for e in view.entities:
                seen.setdefault(e.name, e)
        return tuple(seen.values())

    @property
    def join_keys(self) -> tuple[str, ...]:
        """Spine / request columns the set needs to identify its entities."""
        keys: dict[str, None] = {}
        for view in self.views:
            for k in view.join_keys:
                keys[k] = None
        return tuple(keys)

    @property
    def request_inputs(self) -> tuple[str, ...]:
        """Request fields the on-demand features read (besides the feature time)."""
        names: dict[str, None] = {}
        for od in self.on_demand:
            for r in od.request_inputs:
                if r != FEATURE_TIME:
                    names[r] = None
        return tuple(names)

    @property
    def groups(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for view in self.views:
            for g in view.groups:
                names[g] = None
        for od in self.on_demand:
            for g in od.groups:
                names[g] = None
        return tuple(names)

    # -- selection ---------------------------------------------------------
    def select(self, *groups: str, name: str | None = None) -> FeatureSet:
        """The views and on-demand features used by any of ``groups``, plus their inputs."""
        unknown = [g for g in groups if g not in self.groups]
        if unknown:
            raise FeatureError(
                f"feature set {self.name} has no group {unknown}; its groups are {list(self.groups)}"
            )
        wanted = set(groups)
        views = [v for v in self.views if wanted & set(v.groups)]
        on_demand = [o for o in self.on_demand if wanted & set(o.groups)]
        return self._closure(views, on_demand, name or f"{self.name}[{','.join(groups)}]")

    def subset(self, names: Iterable[str], *, name: str | None = None) -> FeatureSet:
        """The views and on-demand features that produce ``names``, plus their inputs."""
        wanted = set(names)
        known = set(self.feature_names)
        unknown = sorted(wanted - known)
        if unknown:
            raise FeatureError(f"features {unknown} are not defined in feature set {self.name}")
        views = [v for v in self.views if wanted & {f.name for f in v.features}]
        on_demand = [o for o in self.on_demand if o.name in wanted]
        return self._closure(views, on_demand, name or f"{self.name}[subset]")

    def _closure(
        self, views: Sequence[FeatureView], on_demand: Sequence[OnDemandFeature], name: str
    ) -> FeatureSet:
        # on-demand features pull in the views (and on-demand features) they read
        by_feature = {f.name: v for v in self.views for f in v.features}
        od_by_name = {o.name: o for o in self.on_demand}
        chosen_views = {v.name: v for v in views}
        chosen_od = {o.name: o for o in on_demand}
        stack = list(on_demand)
        while stack:
            od = stack.pop()
            for inp in od.feature_inputs:
                if inp in by_feature:
                    chosen_views.setdefault(by_feature[inp].name, by_feature[inp])
                elif inp in od_by_name and inp not in chosen_od:
                    chosen_od[inp] = od_by_name[inp]
                    stack.append(od_by_name[inp])
        return FeatureSet(
            views=tuple(v for v in self.views if v.name in chosen_views),
            on_demand=tuple(o for o in self.on_demand if o.name in chosen_od),
            name=name,
        )

    # -- evaluation ----------------------------------------------------------
    def compute_on_demand(self, values: Mapping[str, Any]) -> dict[str, npt.NDArray[np.float64]]:
        """Evaluate every on-demand feature, in order, on ``values`` (features + request fields).

        Offline ``values`` holds whole columns; online, one request. Later
        on-demand features may read earlier ones.
        """
        env = dict(values)
        out: dict[str, npt.NDArray[np.float64]] = {}
        for od in self.on_demand:
            out[od.name] = od.compute(env)
            env[od.name] = out[od.name]
        return out

    # -- identity ------------------------------------------------------------
    @cached_property
    def version(self) -> str:
        """A stable content hash (16 hex digits) of every definition in the set."""
        payload = {
            "views": [_view_payload(v) for v in self.views],
            "on_demand": [
                {
                    "name": o.name,
                    "feature_inputs": list(o.feature_inputs),
                    "request_inputs": list(o.request_inputs),
                    "arguments": list(o.inputs),
                    "function": o.fingerprint(),
                }
                for o in self.on_demand
            ],
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _view_payload(view: FeatureView) -> dict[str, Any]:
    src = view.source
    return {
        "name": view.name,
        "source": [
            src.name,
            src.table,
            src.timestamp_column,
            src.known_at_column,
            src.query,
            src.tie_breaker,
        ],
        "entities": [[e.name, e.join_key, e.dtype] for e in view.entities],
        "keys": list(view.keys),
        "prefix": view.feature_prefix,
        "aggregations": [
            [a.function, a.column, list(a.windows), a.name, a.where, a.default] for a in view.aggregations
        ],
    }
