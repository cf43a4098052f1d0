"""Drift statistics checked against scipy on small data, per day and per week."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from cartwise.errors import NotFittedError, SchemaError
from cartwise.monitoring.drift import DriftDetector, period_codes, psi_band

START = pd.Timestamp("2026-03-04", tz="UTC")  # a Wednesday


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    rng = np.random.default_rng(3)
    n_ref, n_cur = 4000, 3000
    reference = {
        "amount": rng.lognormal(3, 1, n_ref).round(0),  # ties on purpose
        "items": rng.integers(1, 5, n_ref).astype(float),
        "segment": np.array(["a", "b", "c"])[rng.integers(0, 3, n_ref)],
    }
    current = {
        "amount": rng.lognormal(3.3, 1, n_cur).round(0),
        "items": rng.integers(1, 6, n_cur).astype(float),
        "segment": np.array(["a", "b", "c", "new"])[rng.choice(4, n_cur, p=[0.2, 0.3, 0.3, 0.2])],
    }
    current["amount"][:25] = np.nan
    ts = START + pd.to_timedelta(rng.integers(0, 17 * 86400, n_cur), unit="s")
    return {"reference": reference, "current": current, "ts": ts}


@pytest.fixture(scope="module")
def result(data: dict[str, object]):  # type: ignore[no-untyped-def]
    return DriftDetector(n_bins=10).fit(data["reference"]).compute(data["current"], data["ts"])


def _week_start(ts: pd.DatetimeIndex) -> pd.DatetimeIndex:
    day = ts.floor("D")
    return day - pd.to_timedelta(day.day_of_week, unit="D")


@pytest.mark.parametrize("granularity", ["all", "day", "week"])
@pytest.mark.parametrize("feature", ["amount", "items"])
def test_ks_statistic_equals_scipy_in_every_period(data, result, granularity: str, feature: str) -> None:  # type: ignore[no-untyped-def]
    ts: pd.DatetimeIndex = data["ts"]
    values = data["current"][feature]
    ref = data["reference"][feature]
    rows = result.table[(result.table["granularity"] == granularity) & (result.table["feature"] == feature)]
    assert len(rows) == {"all": 1, "day": 17, "week": 3}[granularity]
    for row in rows.itertuples():
        if granularity == "all":
            mask = np.ones(len(values), dtype=bool)
        elif granularity == "day":
            mask = np.asarray(ts.floor("D") == row.period_start)
        else:
            mask = np.asarray(_week_start(ts) == row.period_start)
        x = values[mask]
        x = x[~np.isnan(x)]
        expected = stats.ks_2samp(x, ref, method="asymp")  # cartwise reports the asymptotic p-value
        assert row.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
        assert row.ks_pvalue == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-15)
        assert row.n == mask.sum()


def test_psi_matches_a_direct_computation(data, result) -> None:  # type: ignore[no-untyped-def]
    ref = data["reference"]["items"]
    cur = data["current"]["items"]
    det = DriftDetector().fit({"items": ref})
    edges = det.numeric_["items"].edges
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 2) / ref.size
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 2) / cur.size
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    expected = float(((c - r) * np.log(c / r)).sum())
    got = result.table.query("granularity == 'all' and feature == 'items'")["psi"].iloc[0]
    assert got == pytest.approx(expected, rel=1e-9)


def test_psi_of_every_week_matches_a_direct_computation(data, result) -> None:  # type: ignore[no-untyped-def]
    """Per period, with the missing-value bin: binning each week's rows on their own gives the same PSI."""
    ref = data["reference"]["amount"]
    det = DriftDetector().fit({"amount": ref})
    edges, shares = det.numeric_["amount"].edges, det.numeric_["amount"].shares
    weeks = _week_start(data["ts"])
    rows = result.table.query("granularity == 'week' and feature == 'amount'")
    for row in rows.itertuples():
        x = data["current"]["amount"][np.asarray(weeks == row.period_start)]
        bins = np.searchsorted(edges, x, side="right")
        bins[np.isnan(x)] = edges.size + 1
        c = np.maximum(np.bincount(bins, minlength=edges.size + 2) / x.size, 1e-4)
        r = np.maximum(shares, 1e-4)
        assert row.psi == pytest.approx(float(((c - r) * np.log(c / r)).sum()), rel=1e-9)
    assert rows["n"].sum() == len(data["current"]["amount"])  # missing values counted in their bin


def test_categorical_chi2_and_js_equal_scipy(data, result) -> None:  # type: ignore[no-untyped-def]
    ref = pd.Series(data["reference"]["segment"]).value_counts()
    cur = pd.Series(data["current"]["segment"])
    cur = cur.where(cur.isin(ref.index), "unseen").value_counts()
    cats = [*list(ref.index), "unseen"]
    table = np.array([[ref.get(c, 0) for c in cats], [cur.get(c, 0) for c in cats]], dtype=float)
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    row = result.table.query("granularity == 'all' and feature == 'segment'").iloc[0]
    assert row.chi2_statistic == pytest.approx(chi2, rel=1e-9)
    assert row.chi2_pvalue == pytest.approx(p, rel=1e-6, abs=1e-300)
    js = jensenshannon(table[1] / table[1].sum(), table[0] / table[0].sum(), base=2)
    assert row.js_distance == pytest.approx(js, rel=1e-9)
    assert row.band == "major"  # a fifth of the rows in a category the reference never had


def test_same_distribution_is_stable_and_a_shift_is_major() -> None:
    rng = np.random.default_rng(0)
    det = DriftDetector().fit({"x": rng.normal(size=50_000)})
    same = det.compute({"x": rng.normal(size=50_000)}, granularities=("all",)).table.iloc[0]
    moved = det.compute({"x": rng.normal(1.0, 1, size=50_000)}, granularities=("all",)).table.iloc[0]
    assert same.psi < 0.01
    assert same.band == "stable"
    assert moved.psi > 0.25
    assert moved.band == "major"
    assert moved.ks_statistic > 0.3 > same.ks_statistic


def test_two_threads_give_the_same_table(data, result) -> None:  # type: ignore[no-untyped-def]
    again = DriftDetector(n_jobs=2).fit(data["reference"]).compute(data["current"], data["ts"])
    pd.testing.assert_frame_equal(again.table, result.table)


def test_summary_flags_and_top_features(result) -> None:  # type: ignore[no-untyped-def]
    summary = result.period_summary("week")
    assert list(summary["period_start"]) == sorted(summary["period_start"])
    assert summary["period_start"].iloc[0] == pd.Timestamp("2026-03-02", tz="UTC")  # the Monday
    assert all(s.startswith("segment") for s in summary["top_features"].map(lambda t: t[0]))
    assert result.flagged_periods("week") == list(summary["period_start"])
    assert result.top_features("all").iloc[0]["feature"] == "segment"


def test_arrow_and_pandas_timestamps_give_the_same_periods() -> None:
    ts = pd.DatetimeIndex(["2026-03-01 23:59", "2026-03-02 00:00", "2026-03-09 12:00"], tz="UTC")
    codes_pd, starts_pd = period_codes(ts, "week")
    codes_pa, starts_pa = period_codes(
        pa.array(ts.tz_convert(None).as_unit("us").to_numpy()).cast(pa.timestamp("us", tz="UTC")), "week"
    )
    assert list(codes_pd) == list(codes_pa) == [0, 1, 2]
    assert starts_pd == starts_pa
    assert [s.day_name() for s in starts_pd] == ["Monday"] * 3


def test_psi_band() -> None:
    assert [psi_band(v) for v in (0.05, 0.1, 0.2, 0.25, float("nan"))] == [
        "stable",
        "moderate",
        "moderate",
        "major",
        "unknown",
    ]


def test_bad_use_gets_clear_errors(data) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFittedError, match="not fitted"):
        DriftDetector().compute(data["current"])
    det = DriftDetector().fit(data["reference"])
    with pytest.raises(SchemaError, match="lacks reference columns"):
        det.compute({"amount": np.zeros(3)})
    with pytest.raises(SchemaError, match="timestamps"):
        det.compute(data["current"], granularities=("week",))
    with pytest.raises(SchemaError, match="n_bins"):
        DriftDetector(n_bins=1).fit(data["reference"])
    with pytest.raises(SchemaError, match="n_jobs"):
        DriftDetector(n_jobs=8).fit(data["reference"])
    with pytest.raises(SchemaError, match="no non-missing values"):
        DriftDetector().fit({"x": np.full(5, np.nan)})
