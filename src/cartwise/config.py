"""Typed settings. A ``type:`` field picks each adapter; unknown keys fail loudly.

Settings come from (later wins): defaults, a YAML file (``--config`` or
``CARTWISE_CONFIG``), then ``CARTWISE_DATA_DIR`` and explicit overrides.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cartwise.errors import ConfigError

__all__ = [
    "OnlineStoreConfig",
    "RegistryConfig",
    "ServingConfig",
    "Settings",
    "StreamConfig",
    "WarehouseConfig",
    "load_settings",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseConfig(_Strict):
    type: Literal["duckdb", "postgres"] = "duckdb"
    path: str | None = None
    """DuckDB file; defaults to ``<data_dir>/warehouse.duckdb``."""
    dsn: str = "postgresql://127.0.0.1:5432/test"
    db_schema: str = "cartwise"


class OnlineStoreConfig(_Strict):
    type: Literal["memory", "redis"] = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "cw"
    allowed_lateness_seconds: float = Field(
        default=3600.0,
        ge=0,
        description=(
            "How late (behind the newest event applied) an event may arrive and still be applied exactly; "
            "states keep rows this much longer than their longest window. The stream processor and every "
            "reader of the store must use the same value."
        ),
    )


class StreamConfig(_Strict):
    type: Literal["memory", "redis", "kafka"] = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    bootstrap_servers: str = "127.0.0.1:19092"
    topic: str = "cartwise.events"
    group: str = "cartwise-features"


class RegistryConfig(_Strict):
    tracking_uri: str | None = None
    """MLflow tracking URI; defaults to a SQLite file under the data dir."""
    artifact_root: str | None = None


class ServingConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1


class Settings(_Strict):
    data_dir: Path = Path("cartwise-data")
    seed: int = 42
    warehouse: WarehouseConfig = WarehouseConfig()
    online_store: OnlineStoreConfig = OnlineStoreConfig()
    stream: StreamConfig = StreamConfig()
    registry: RegistryConfig = RegistryConfig()
    serving: ServingConfig = ServingConfig()

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse.path) if self.warehouse.path else self.data_dir / "warehouse.duckdb"

    @property
    def tracking_uri(self) -> str:
        if self.registry.tracking_uri:
            return self.registry.tracking_uri
        return f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    @property
    def artifact_root(self) -> str:
        if self.registry.artifact_root:
            return self.registry.artifact_root
        return str((self.data_dir / "mlartifacts").resolve())


def load_settings(
    config_file: str | Path | None = None,
    *,
    data_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Build :class:`Settings` from a YAML file, the environment and overrides."""
    raw: dict[str, Any] = {}
    config_file = config_file or os.environ.get("CARTWISE_CONFIG")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; pass an existing YAML file to --config")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"config file {path} must hold a mapping at the top level, not {type(loaded).__name__}"
            )
        raw.update(loaded)
    env_dir = os.environ.get("CARTWISE_DATA_DIR")
    if env_dir:
        raw["data_dir"] = env_dir
    if data_dir is not None:
        raw["data_dir"] = str(data_dir)
    if overrides:
        raw.update(overrides)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        source = f" in {config_file}" if config_file else ""
        raise ConfigError(f"invalid settings{source}: {problems}") from exc
