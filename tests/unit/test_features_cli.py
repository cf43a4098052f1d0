"""``cartwise features list`` and ``cartwise features backfill`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cartwise.cli.main import _register, app
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.features.catalog import CATALOG, CREDIT_FEATURES
from cartwise.features.synthetic import synthetic_tables

_register()
runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARTWISE_CONFIG", raising=False)
    monkeypatch.delenv("CARTWISE_DATA_DIR", raising=False)
    monkeypatch.setenv("COLUMNS", "250")


def test_list_shows_every_feature_with_its_definition() -> None:
    result = runner.invoke(app, ["features", "list"])
    assert result.exit_code == 0, result.output
    assert CATALOG.version in result.output
    assert "customer__amount_minor__sum__30d" in result.output
    assert "merchant_chargeback_rate_30d" in result.output
    credit = runner.invoke(app, ["features", "list", "--group", "credit"])
    assert credit.exit_code == 0
    assert f"{len(CREDIT_FEATURES)} features" in credit.output


def test_backfill_writes_a_point_in_time_frame(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with DuckDBWarehouse(data_dir / "warehouse.duckdb") as wh:
        wh.write_tables(synthetic_tables(checkouts=400, days=20, seed=2))
    out = tmp_path / "frames" / "fraud.parquet"
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(data_dir),
            "features",
            "backfill",
            "--spine",
            "checkouts",
            "--out",
            str(out),
            "--group",
            "fraud",
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pq.read_table(out)
    assert frame.num_rows == 400
    assert "device__customer_id__count_distinct__7d" in frame.column_names
    assert "merchant_chargeback_rate_30d" in frame.column_names
    assert "customer__views__count__7d" in frame.column_names  # keyed by customer: usable on checkouts
    assert "product__views__count__7d" not in frame.column_names  # checkouts carry no product_id


def test_backfill_refuses_a_bad_engine(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(tmp_path),
            "features",
            "backfill",
            "--out",
            str(tmp_path / "x.parquet"),
            "--engine",
            "oracle",
        ],
    )
    assert result.exit_code != 0
    assert "--engine 'oracle' is not one of duckdb, postgres, spark" in str(result.exception)
