"""Spark engine for training frames and backfills too big for one machine.

The point-in-time SQL is the one :mod:`cartwise.features.compiler` writes for
DuckDB, carried to Spark SQL by sqlglot (:func:`cartwise.features.sql.to_dialect`).
Tables come in as temp views, from Arrow tables, Parquet files or a warehouse.

    engine = SparkEngine()                      # local[2]; or SparkEngine(session=spark)
    engine.register_warehouse(warehouse)        # or engine.register_table("checkouts", table)
    frame = training_frame(None, spine, features, engine="spark", spark=engine)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cartwise.data.warehouse import check_identifier
from cartwise.domain.schemas import TABLES
from cartwise.errors import FeatureError
from cartwise.features.sql import referenced_tables, to_dialect

if TYPE_CHECKING:
    from cartwise.data.warehouse import Warehouse
    from cartwise.features.definitions import FeatureSet

__all__ = ["SparkEngine", "source_tables"]

logger = logging.getLogger(__name__)


def source_tables(feature_set: FeatureSet) -> list[str]:
    """The warehouse tables the feature set's sources read."""
    names: dict[str, None] = {}
    for view in feature_set.views:
        src = view.source
        for name in sorted(referenced_tables(src.query)) if src.query else [src.table]:
            names[name] = None
    return list(names)


class SparkEngine:
    """Runs cartwise SQL on Spark; tables are temp views of one session.

    ``session`` is an existing SparkSession; without one, a local session is
    started on first use with ``master`` (default ``local[2]``), UTC session
    time and Arrow transfer on; ``config`` adds or overrides Spark settings.
    """

    def __init__(
        self,
        session: Any = None,
        *,
        master: str = "local[2]",
        app_name: str = "cartwise-features",
        config: Mapping[str, str] | None = None,
    ) -> None:
        self.master = master
        self.app_name = app_name
        self.config = config
        self._session = session
        self._tables: set[str] = set()

    @property
    def session(self) -> Any:
        if self._session is None:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:  # pragma: no cover - pyspark is a dependency
                raise FeatureError("engine='spark' needs pyspark: pip install pyspark") from exc
            settings = {
                "spark.sql.session.timeZone": "UTC",
                "spark.sql.shuffle.partitions": "4",
                "spark.sql.execution.arrow.pyspark.enabled": "true",
                "spark.ui.enabled": "false",
                "spark.driver.memory": "2g",
                **(self.config or {}),
            }
            builder = SparkSession.builder.master(self.master).appName(self.app_name)
            for key, value in settings.items():
                builder = builder.config(key, value)
            self._session = builder.getOrCreate()
            self._session.sparkContext.setLogLevel("ERROR")
        return self._session

    # -- tables --------------------------------------------------------------
    def register_table(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table a temp view called ``name``."""
        check_identifier(name)
        frame = self.session.createDataFrame(table)
        frame.createOrReplaceTempView(name)
        self._tables.add(name)

    def register_parquet(self, name: str, path: str | Path) -> None:
        """Make a Parquet file or folder a temp view called ``name``."""
        check_identifier(name)
        self.session.read.parquet(str(path)).createOrReplaceTempView(name)
        self._tables.add(name)

    def register_warehouse(self, warehouse: Warehouse, names: list[str] | None = None) -> None:
        """Copy the warehouse's tables (all cartwise tables it holds, or ``names``) into temp views."""
        held = warehouse.table_names()
        for name in names if names is not None else [n for n in TABLES if n in held]:
            self.register_table(name, warehouse.read_table(name))

    def has_table(self, name: str) -> bool:
        return name in self._tables

    def drop_table(self, name: str) -> None:
        self.session.catalog.dropTempView(name)
        self._tables.discard(name)

    # -- queries ---------------------------------------------------------------
    def query(self, sql: str) -> pa.Table:
        """Run a SELECT written in DuckDB's dialect and return Arrow."""
        text = to_dialect(sql, "spark")
        try:
            result: pa.Table = self.session.sql(text).toArrow()
        except Exception as exc:  # Spark raises its own AnalysisException family
            raise FeatureError(f"Spark could not run the query: {exc}") from exc
        return result

    def run(
        self,
        sql: str,
        spine_table: str,
        spine: pa.Table,
        feature_set: FeatureSet,
        warehouse: Warehouse | None,
    ) -> pa.Table:
        """Register the spine (and any missing source table from ``warehouse``) and run ``sql``."""
        missing = [name for name in source_tables(feature_set) if not self.has_table(name)]
        if missing:
            if warehouse is None:
                raise FeatureError(
                    f"Spark holds no table {missing}: register them (register_table/register_parquet/"
                    "register_warehouse) or pass the warehouse"
                )
            self.register_warehouse(warehouse, missing)
        self.register_table(spine_table, spine)
        try:
            return self.query(sql)
        finally:
            self.drop_table(spine_table)

    def stop(self) -> None:
        if self._session is not None:
            self._session.stop()
            self._session = None
            self._tables.clear()
