"""Input and score drift against a training reference: PSI, KS, chi² and Jensen–Shannon.

:class:`DriftDetector` follows the scikit-learn habit: ``fit`` learns the
reference once (quantile bin edges, bin shares and the sorted values of each
numeric column; category shares of each categorical column) and ``compute``
compares a current window to it, for the whole window and for each day and each
week of it in one pass per column.

Numeric columns: PSI over reference-quantile bins (missing values get a bin of
their own) and the exact two-sample Kolmogorov–Smirnov statistic. The current
values are sorted once; their ranks in the sorted reference (two
``searchsorted`` calls) are shared by every period, and a stable radix sort on
the period code groups them by period without sorting the values again.
Categorical columns: PSI, Pearson's chi² on the 2×K reference/current table and
the Jensen–Shannon distance (base 2, so 0..1); categories unseen in the
reference share one "unseen" bucket.

PSI bands follow the usual reading: below 0.1 stable, 0.1–0.25 moderate shift,
0.25 and above major shift. With hundreds of thousands of rows every KS or chi²
p-value is tiny, so flags come from the PSI bands; the tests' statistics are
reported next to them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from scipy import stats
from scipy.spatial.distance import jensenshannon

from cartwise.errors import NotFittedError, SchemaError

__all__ = [
    "PSI_BANDS",
    "CategoricalReference",
    "DriftDetector",
    "DriftResult",
    "Granularity",
    "NumericReference",
    "period_codes",
    "psi_band",
]

logger = logging.getLogger(__name__)

PSI_BANDS = (0.1, 0.25)
"""PSI below the first is stable, from the first to the second a moderate shift, above it a major one."""

Granularity = Literal["all", "day", "week"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.integer[Any]]

_RESULT_COLUMNS = [
    "granularity",
    "period_start",
    "feature",
    "kind",
    "n",
    "psi",
    "band",
    "ks_statistic",
    "ks_pvalue",
    "chi2_statistic",
    "chi2_pvalue",
    "js_distance",
]


@dataclass(frozen=True)
class NumericReference:
    """What the detector keeps of one numeric reference column."""

    name: str
    edges: FloatArray
    """Inner bin edges (reference quantiles); values equal to an edge go to the upper bin."""
    shares: FloatArray
    """Reference share of each bin, the last bin being missing values."""
    sorted_values: FloatArray
    """The reference's non-missing values, sorted (for the exact KS statistic)."""


@dataclass(frozen=True)
class CategoricalReference:
    """What the detector keeps of one categorical reference column."""

    name: str
    categories: tuple[str, ...]
    counts: IntArray
    """Reference count of each category, then of 'unseen' (always 0 here) and missing."""


@dataclass(frozen=True)
class _Grouping:
    granularity: Granularity
    codes: IntArray
    starts: tuple[pd.Timestamp | None, ...]


@dataclass(frozen=True)
class DriftResult:
    """Drift of each column for the whole window and for each day and week of it."""

    table: pd.DataFrame
    """One row per (granularity, period_start, feature): n, psi, band and the tests' statistics."""
    psi_bands: tuple[float, float] = PSI_BANDS

    def period_summary(self, granularity: Granularity = "week", *, top: int = 5) -> pd.DataFrame:
        """Per period: rows, the largest PSI, how many columns shifted majorly, the top drifting columns."""
        part = self.table[self.table["granularity"] == granularity]
        rows = []
        for start, group in part.groupby("period_start", sort=True, dropna=False):
            ranked = group.sort_values("psi", ascending=False)
            rows.append(
                {
                    "period_start": start,
                    "n": int(ranked["n"].max()),
                    "max_psi": float(ranked["psi"].max()),
                    "n_moderate": int((ranked["band"] == "moderate").sum()),
                    "n_major": int((ranked["band"] == "major").sum()),
                    "top_features": [
                        f"{name} ({psi:.2f})"
                        for name, psi in zip(
                            ranked["feature"].head(top), ranked["psi"].head(top), strict=True
                        )
                        if psi >= self.psi_bands[0]
                    ],
                }
            )
        return pd.DataFrame(rows)

    def flagged_periods(self, granularity: Granularity = "week", *, min_major: int = 1) -> list[pd.Timestamp]:
        """Starts of the periods in which at least ``min_major`` columns reached the major band."""
        summary = self.period_summary(granularity)
        if summary.empty:
            return []
        return list(summary.loc[summary["n_major"] >= min_major, "period_start"])

    def top_features(
        self, granularity: Granularity = "all", period_start: Any = None, *, top: int = 10
    ) -> pd.DataFrame:
        """The columns that drifted most in one period (the whole window by default), by PSI."""
        part = self.table[self.table["granularity"] == granularity]
        if period_start is not None:
            part = part[part["period_start"] == pd.Timestamp(period_start)]
        return part.sort_values("psi", ascending=False).head(top).reset_index(drop=True)


def psi_band(psi: float, bands: tuple[float, float] = PSI_BANDS) -> str:
    """'stable', 'moderate' or 'major' for a PSI value."""
    if not np.isfinite(psi):
        return "unknown"
    return "stable" if psi < bands[0] else "moderate" if psi < bands[1] else "major"


_US_PER_DAY = 86_400_000_000


def _epoch_micros(timestamps: Any) -> IntArray:
    """Timestamps (Arrow, pandas or numpy; naive ones taken as UTC) as int64 µs since the epoch."""
    if isinstance(timestamps, pa.ChunkedArray | pa.Array):
        if not pa.types.is_timestamp(timestamps.type):
            raise SchemaError(
                f"drift periods: timestamps must be an Arrow timestamp column, not {timestamps.type}"
            )
        if timestamps.null_count:
            raise SchemaError(
                "drift periods: some timestamps are missing; every decision needs a decided_at time"
            )
        return np.asarray(
            timestamps.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False)
        )
    index = pd.DatetimeIndex(timestamps)
    if index.hasnans:
        raise SchemaError(
            "drift periods: some timestamps are missing; every decision needs a decided_at time"
        )
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return np.asarray(index.as_unit("us").asi8, dtype=np.int64)


def period_codes(timestamps: Any, granularity: Literal["day", "week"]) -> tuple[IntArray, list[pd.Timestamp]]:
    """Integer period code of each timestamp and the start (UTC midnight; weeks start Monday) of each code."""
    days = np.floor_divide(_epoch_micros(timestamps), _US_PER_DAY)
    # 1970-01-01 was a Thursday: shift by 3 days so weeks start on Monday
    keys = days if granularity == "day" else np.floor_divide(days + 3, 7) * 7 - 3
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), []
    # days are a small dense range: a lookup table is much cheaper than np.unique's sort
    first = int(keys.min())
    offsets = keys - first
    present = np.bincount(offsets) > 0
    lookup = np.cumsum(present) - 1
    starts = [
        pd.Timestamp((first + int(d)) * _US_PER_DAY, unit="us", tz="UTC") for d in np.flatnonzero(present)
    ]
    return lookup[offsets].astype(np.int64), starts


def _columns(data: Any) -> dict[str, Any]:
    """Columns of an Arrow table, a DataFrame or a mapping of arrays."""
    if isinstance(data, pa.Table):
        return {name: data.column(name) for name in data.column_names}
    if isinstance(data, pd.DataFrame):
        return {str(c): data[c] for c in data.columns}
    if isinstance(data, Mapping):
        return dict(data)
    raise SchemaError(
        f"drift input must be an Arrow table, a DataFrame or a mapping of arrays, not {type(data).__name__}"
    )


def _is_categorical(values: Any) -> bool:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        t = values.type
        return bool(
            pa.types.is_string(t)
            or pa.types.is_large_string(t)
            or pa.types.is_dictionary(t)
            or pa.types.is_boolean(t)
        )
    if isinstance(values, pd.Series):
        return not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    arr = np.asarray(values)
    return arr.dtype.kind in "OUSb"


def _as_float(name: str, values: Any) -> FloatArray:
    try:
        if isinstance(values, pa.ChunkedArray | pa.Array):
            return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
        if isinstance(values, pd.Series):
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, pa.ArrowInvalid) as exc:
        raise SchemaError(
            f"drift: column {name!r} is not numeric ({exc}); declare it categorical or cast it"
        ) from exc


def _as_strings(values: Any) -> pd.Series:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.to_pandas()
    return pd.Series(values).astype("string")


def _psi(cur_counts: FloatArray, ref_shares: FloatArray, eps: float) -> FloatArray:
    """PSI of each row of ``cur_counts`` against ``ref_shares``; shares are floored at ``eps``."""
    n = cur_counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cur = np.maximum(cur_counts / n, eps)
    ref = np.maximum(ref_shares, eps)[None, :]
    out: FloatArray = ((cur - ref) * np.log(cur / ref)).sum(axis=1)
    out[n[:, 0] == 0] = np.nan
    return out


def _ks_pvalue(d: FloatArray, n_cur: FloatArray, n_ref: int) -> FloatArray:
    en = np.round(n_cur * n_ref / np.maximum(n_cur + n_ref, 1))
    out = np.full(d.shape, np.nan)
    ok = (n_cur > 0) & np.isfinite(d)
    # kstwo's exact tail is slow for large n; Kolmogorov's limit is accurate there
    small = ok & (en <= 10_000)
    large = ok & (en > 10_000)
    if small.any():
        out[small] = stats.kstwo.sf(d[small], np.maximum(en[small], 1))
    if large.any():
        out[large] = stats.kstwobign.sf(d[large] * np.sqrt(en[large]))
    return out


class DriftDetector:
    """Compare a current window to a reference, column by column.

    Parameters: ``n_bins`` quantile bins for numeric PSI; ``psi_bands`` (moderate,
    major); ``epsilon`` floor of bin shares in PSI; ``categorical`` names of columns
    to treat as categories (strings and booleans are categorical anyway);
    ``n_jobs`` threads over columns (numpy releases the GIL in sorts and searches).
    """

    def __init__(
        self,
        n_bins: int = 10,
        psi_bands: tuple[float, float] = PSI_BANDS,
        epsilon: float = 1e-4,
        categorical: Sequence[str] = (),
        n_jobs: int = 1,
    ) -> None:
        self.n_bins = n_bins
        self.psi_bands = psi_bands
        self.epsilon = epsilon
        self.categorical = categorical
        self.n_jobs = n_jobs

    # -- fitting -----------------------------------------------------------
    def _check_params(self) -> None:
        if not isinstance(self.n_bins, int) or self.n_bins < 2:
            raise SchemaError(f"DriftDetector: n_bins must be an integer ≥ 2, got {self.n_bins!r}")
        lo, hi = self.psi_bands
        if not 0 < lo < hi:
            raise SchemaError(
                f"DriftDetector: psi_bands must be (moderate, major) with 0 < moderate < major, got {self.psi_bands!r}"
            )
        if not 0 < self.epsilon < 0.01:
            raise SchemaError(f"DriftDetector: epsilon must be in (0, 0.01), got {self.epsilon!r}")
        if not 1 <= self.n_jobs <= 2:
            raise SchemaError(f"DriftDetector: n_jobs must be 1 or 2 on this platform, got {self.n_jobs!r}")

    def _fit_numeric(self, name: str, values: FloatArray) -> NumericReference:
        finite = values[~np.isnan(values)]
        if finite.size == 0:
            raise SchemaError(
                f"drift reference: column {name!r} has no non-missing values; drop it or fix the reference"
            )
        sorted_values = np.sort(finite)
        n = sorted_values.size
        # inverted-CDF quantiles and the bin counts, read off the sorted values (no pass over the rows)
        positions = np.ceil(np.linspace(0, 1, self.n_bins + 1)[1:-1] * n).astype(np.int64) - 1
        edges = np.unique(sorted_values[np.clip(positions, 0, n - 1)])
        below = np.searchsorted(sorted_values, edges, side="left")
        counts = np.diff(np.concatenate([[0], below, [n, n + (values.size - n)]])).astype(np.float64)
        return NumericReference(name, edges, counts / counts.sum(), sorted_values)

    def _fit_categorical(self, name: str, values: pd.Series) -> CategoricalReference:
        missing = values.isna()
        vc = values[~missing].value_counts(sort=True)
        categories = tuple(str(c) for c in vc.index)
        counts = np.concatenate([vc.to_numpy(dtype=np.int64), [0, int(missing.sum())]])
        return CategoricalReference(name, categories, counts)

    def fit(self, reference: Any) -> DriftDetector:
        """Learn each column of the reference (Arrow table, DataFrame or mapping of arrays)."""
        self._check_params()
        columns = _columns(reference)
        if not columns:
            raise SchemaError("drift reference has no columns; pass the training window's model inputs")
        unknown = set(self.categorical) - set(columns)
        if unknown:
            raise SchemaError(
                f"DriftDetector: categorical columns {sorted(unknown)} are not in the reference"
            )
        self.numeric_: dict[str, NumericReference] = {}
        self.categorical_: dict[str, CategoricalReference] = {}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise SchemaError(f"drift reference columns differ in length: {sorted(lengths)}")
        self.n_reference_ = lengths.pop()
        if self.n_reference_ == 0:
            raise SchemaError("drift reference has no rows; choose a reference window that holds decisions")

        def fit_one(item: tuple[str, Any]) -> NumericReference | CategoricalReference:
            name, values = item
            if name in self.categorical or _is_categorical(values):
                return self._fit_categorical(name, _as_strings(values))
            return self._fit_numeric(name, _as_float(name, values))

        with ThreadPoolExecutor(self.n_jobs) as pool:
            for ref in pool.map(fit_one, columns.items()):
                if isinstance(ref, NumericReference):
                    self.numeric_[ref.name] = ref
                else:
                    self.categorical_[ref.name] = ref
        self.feature_names_ = list(columns)
        return self

    # -- comparing ---------------------------------------------------------
    def _numeric(
        self, ref: NumericReference, values: FloatArray, groups: list[_Grouping]
    ) -> list[dict[str, Any]]:
        n_bins = ref.edges.size + 2  # inner bins + missing
        missing_bin = n_bins - 1
        nan = np.isnan(values)
        any_nan = bool(nan.any())
        finite_values = values[~nan] if any_nan else values
        order = np.argsort(finite_values)
        sorted_values = finite_values[order]
        n = sorted_values.size
        # PSI bin of each value in value order: the bins are runs between the edges' positions
        bounds = np.searchsorted(sorted_values, ref.edges, side="left")
        bins_sorted = np.repeat(np.arange(n_bins - 1), np.diff(np.concatenate([[0], bounds, [n]])))
        n_ref = ref.sorted_values.size
        # reference ECDF just after and just before each current value, in value order; the two
        # differ only where the value is also a reference value, so search again only there
        ranks_right = np.searchsorted(ref.sorted_values, sorted_values, side="right")
        ranks_left = ranks_right.copy()
        tied = ranks_right > 0
        tied[tied] = ref.sorted_values[ranks_right[tied] - 1] == sorted_values[tied]
        if tied.any():
            ranks_left[tied] = np.searchsorted(ref.sorted_values, sorted_values[tied], side="left")
        cdf_right = ranks_right / n_ref
        cdf_left = ranks_left / n_ref
        out: list[dict[str, Any]] = []
        for g in groups:
            n_periods = len(g.starts)
            single = n_periods == 1
            codes_sorted = g.codes[:0] if single else (g.codes[~nan] if any_nan else g.codes)[order]
            if single:
                counts = np.bincount(bins_sorted, minlength=n_bins).reshape(1, n_bins)
            else:
                counts = np.bincount(
                    codes_sorted.astype(np.int64) * n_bins + bins_sorted, minlength=n_periods * n_bins
                ).reshape(n_periods, n_bins)
            if any_nan:
                counts[:, missing_bin] = np.bincount(g.codes[nan].astype(np.int64), minlength=n_periods)
            psi = _psi(counts.astype(np.float64), ref.shares, self.epsilon)
            if single:
                right, left = cdf_right, cdf_left
                n_per = np.array([finite_values.size])
                within = np.arange(finite_values.size)
                inv_n = np.full(1, 1.0 / max(finite_values.size, 1))
                starts = np.zeros(1, dtype=np.int64)
            else:
                assert codes_sorted is not None
                perm = np.argsort(
                    codes_sorted, kind="stable"
                )  # radix sort on int16: keeps value order in a period
                codes = codes_sorted[perm]
                right, left = cdf_right[perm], cdf_left[perm]
                n_per = np.bincount(codes, minlength=n_periods)
                starts = np.cumsum(n_per) - n_per
                within = np.arange(codes.size) - starts[codes]
                with np.errstate(divide="ignore"):
                    inv_n = np.asarray((1.0 / n_per)[codes], dtype=np.float64)
            d = np.full(n_periods, np.nan)
            nonempty = n_per > 0
            if finite_values.size:
                # exact two-sample KS: the ECDF gap peaks just after (current above) or
                # just before (reference above) a current value
                below = (
                    within * inv_n
                )  # current ECDF just before each value (in place: 1M-row temporaries add up)
                gap = below + inv_n
                gap -= right
                np.subtract(left, below, out=below)
                np.maximum(gap, below, out=gap)
                d[nonempty] = np.maximum.reduceat(gap, starts[nonempty])
            pvalue = _ks_pvalue(d, n_per.astype(np.float64), n_ref)
            n_rows = counts.sum(axis=1)
            for k in range(n_periods):
                if n_rows[k] == 0:
                    continue
                out.append(
                    {
                        "granularity": g.granularity,
                        "period_start": g.starts[k],
                        "feature": ref.name,
                        "kind": "numeric",
                        "n": int(n_rows[k]),
                        "psi": float(psi[k]),
                        "ks_statistic": float(d[k]),
                        "ks_pvalue": float(pvalue[k]),
                        "chi2_statistic": np.nan,
                        "chi2_pvalue": np.nan,
                        "js_distance": np.nan,
                    }
                )
        return out

    def _categorical(
        self, ref: CategoricalReference, values: pd.Series, groups: list[_Grouping]
    ) -> list[dict[str, Any]]:
        k = len(ref.categories)
        n_bins = k + 2
        lookup = pd.Index(list(ref.categories), dtype=object)
        codes_cat = lookup.get_indexer(pd.Index(values.astype(object))).astype(np.int64)
        bins = np.where(codes_cat >= 0, codes_cat, k)
        bins[values.isna().to_numpy()] = k + 1
        ref_counts = ref.counts.astype(np.float64)
        ref_shares = ref_counts / ref_counts.sum()
        out: list[dict[str, Any]] = []
        for g in groups:
            n_periods = len(g.starts)
            counts = np.bincount(
                g.codes.astype(np.int64) * n_bins + bins, minlength=n_periods * n_bins
            ).reshape(n_periods, n_bins)
            cur = counts.astype(np.float64)
            psi = _psi(cur, ref_shares, self.epsilon)
            # chi² on the 2×K table of reference and current counts, columns with no rows dropped
            col = cur + ref_counts[None, :]
            n_cur = cur.sum(axis=1, keepdims=True)
            grand = n_cur + ref_counts.sum()
            with np.errstate(invalid="ignore", divide="ignore"):
                exp_cur = n_cur * col / grand
                exp_ref = ref_counts.sum() * col / grand
                terms = np.where(
                    col > 0,
                    (cur - exp_cur) ** 2 / exp_cur + (ref_counts[None, :] - exp_ref) ** 2 / exp_ref,
                    0.0,
                )
                chi2 = terms.sum(axis=1)
                dof = np.maximum((col > 0).sum(axis=1) - 1, 1)
                chi2_p = stats.chi2.sf(chi2, dof)
                js = jensenshannon(cur / n_cur, np.broadcast_to(ref_shares, cur.shape), axis=1, base=2)
            for p in range(n_periods):
                if n_cur[p, 0] == 0:
                    continue
                out.append(
                    {
                        "granularity": g.granularity,
                        "period_start": g.starts[p],
                        "feature": ref.name,
                        "kind": "categorical",
                        "n": int(n_cur[p, 0]),
                        "psi": float(psi[p]),
                        "ks_statistic": np.nan,
                        "ks_pvalue": np.nan,
                        "chi2_statistic": float(chi2[p]),
                        "chi2_pvalue": float(chi2_p[p]),
                        "js_distance": float(js[p]),
                    }
                )
        return out

    def compute(
        self,
        current: Any,
        timestamps: Any = None,
        granularities: Sequence[Granularity] = ("all", "day", "week"),
    ) -> DriftResult:
        """Drift of every reference column in ``current``, overall and per day/week of ``timestamps``."""
        if not hasattr(self, "feature_names_"):
            raise NotFittedError(
                "This DriftDetector instance is not fitted yet. Call 'fit' with the reference window first."
            )
        columns = _columns(current)
        missing = [c for c in self.feature_names_ if c not in columns]
        if missing:
            raise SchemaError(
                f"drift: current data lacks reference columns {missing}; pass the same model inputs"
            )
        lengths = {len(columns[c]) for c in self.feature_names_}
        if len(lengths) != 1:
            raise SchemaError(f"drift: current columns differ in length: {sorted(lengths)}")
        n = lengths.pop()
        groups: list[_Grouping] = []
        for gran in granularities:
            if gran == "all":
                groups.append(_Grouping("all", np.zeros(n, dtype=np.int16), (None,)))
                continue
            if gran not in ("day", "week"):
                raise SchemaError(f"drift: unknown granularity {gran!r}; use 'all', 'day' or 'week'")
            if timestamps is None:
                raise SchemaError(f"drift: per-{gran} drift needs the decisions' timestamps")
            if len(timestamps) != n:
                raise SchemaError(f"drift: {len(timestamps)} timestamps for {n} rows")
            codes, starts = period_codes(timestamps, gran)
            groups.append(
                _Grouping(gran, codes.astype(np.int16) if len(starts) < 2**15 else codes, tuple(starts))
            )

        def one(name: str) -> list[dict[str, Any]]:
            if name in self.numeric_:
                return self._numeric(self.numeric_[name], _as_float(name, columns[name]), groups)
            return self._categorical(self.categorical_[name], _as_strings(columns[name]), groups)

        rows: list[dict[str, Any]] = []
        with ThreadPoolExecutor(self.n_jobs) as pool:
            for part in pool.map(one, self.feature_names_):
                rows.extend(part)
        table = pd.DataFrame(rows, columns=[c for c in _RESULT_COLUMNS if c != "band"])
        table.insert(6, "band", [psi_band(v, self.psi_bands) for v in table["psi"]])
        return DriftResult(table, self.psi_bands)
