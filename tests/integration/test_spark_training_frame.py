"""The same training frame on DuckDB and on Spark (local mode), row for row, on a small simulator run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pytest

from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.features.catalog import CATALOG
from cartwise.features.definitions import FeatureSet
from cartwise.features.offline import training_frame
from cartwise.features.spark import SparkEngine

pytestmark = pytest.mark.spark


@pytest.fixture(scope="session")
def spark_engine() -> Iterator[SparkEngine]:
    """One local[2] Spark session for every Spark test of the feature layer (it takes ~20 s to start)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    engine = SparkEngine(master="local[2]", config={"spark.sql.shuffle.partitions": "1"})
    yield engine
    engine.stop()


def _spine(tables: dict[str, pa.Table]) -> pa.Table:
    checkouts = tables["checkouts"]
    spine = checkouts.drop_columns(["product_ids", "currency", "geo_hash", "plan_type", "n_items"])
    first = pa.array(
        [ids[0] if ids else 0 for ids in checkouts.column("product_ids").to_pylist()], pa.int64()
    )
    return spine.append_column("product_id", first)


# one view per strategy (window incl. last, distinct, label-delayed, point-in-time join) and on-demand features
VIEWS = (
    "customer_checkout_velocity",
    "device_identity_spread",
    "merchant_chargebacks",
    "customer_repayment",
    "customer_exposure",
    "customer_credit_outcomes",
    "product_engagement",
)
FEATURES: FeatureSet = CATALOG.subset(
    [f.name for v in VIEWS for f in CATALOG.view(v).features]
    + ["merchant_chargeback_rate_30d", "tenure_days"],
    name="spark-check",
)


def test_duckdb_and_spark_agree_row_for_row_on_simulator_data(spark_engine: SparkEngine) -> None:
    from cartwise.data.simulator import SimulationConfig, simulate

    tables = simulate(SimulationConfig(customers=500, days=40, merchants=20, products=200, seed=5))
    spine = _spine(tables)
    with DuckDBWarehouse() as duck:
        duck.write_tables(tables)
        expected = training_frame(duck, spine, FEATURES)
        got = training_frame(duck, spine, FEATURES, engine="spark", spark=spark_engine)
    assert got.num_rows == expected.num_rows == spine.num_rows
    assert got.column_names == expected.column_names
    assert got.column("checkout_id").to_pylist() == expected.column("checkout_id").to_pylist()
    for name in FEATURES.feature_names:
        a = expected.column(name).to_numpy(zero_copy_only=False).astype(float)
        b = got.column(name).to_numpy(zero_copy_only=False).astype(float)
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-6, equal_nan=True, err_msg=name)
    assert expected.column("customer__checkouts__count__90d").to_numpy().sum() > 0
