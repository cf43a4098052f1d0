"""Settings: YAML file, environment and overrides, and clear errors for each way they go wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartwise.config import load_settings
from cartwise.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARTWISE_CONFIG", raising=False)
    monkeypatch.delenv("CARTWISE_DATA_DIR", raising=False)


def test_defaults_need_no_file() -> None:
    settings = load_settings()
    assert settings.warehouse.type == "duckdb"
    assert settings.warehouse_path == Path("cartwise-data") / "warehouse.duckdb"
    assert settings.seed == 42


def test_file_then_environment_then_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cartwise.yaml"
    config.write_text("data_dir: from-file\nseed: 7\nwarehouse:\n  type: postgres\n  db_schema: shop\n")
    settings = load_settings(config)
    assert settings.data_dir == Path("from-file")
    assert settings.seed == 7
    assert settings.warehouse.type == "postgres"
    assert settings.warehouse.db_schema == "shop"
    monkeypatch.setenv("CARTWISE_DATA_DIR", str(tmp_path / "from-env"))
    assert load_settings(config).data_dir == tmp_path / "from-env"
    assert load_settings(config, data_dir=tmp_path / "from-arg").data_dir == tmp_path / "from-arg"
    assert load_settings(config, overrides={"seed": 9}).seed == 9
    monkeypatch.setenv("CARTWISE_CONFIG", str(config))
    assert load_settings().seed == 7


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"config file .*absent.yaml does not exist; pass an existing YAML file"
    ):
        load_settings(tmp_path / "absent.yaml")


def test_invalid_yaml(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("warehouse: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML"):
        load_settings(config)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    config = tmp_path / "list.yaml"
    config.write_text("- duckdb\n- postgres\n")
    with pytest.raises(ConfigError, match=r"must hold a mapping at the top level, not list"):
        load_settings(config)


def test_misspelt_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("warehouse:\n  typ: postgres\n")
    with pytest.raises(
        ConfigError, match=r"invalid settings in .*typo.yaml: warehouse.typ: Extra inputs are not permitted"
    ):
        load_settings(config)


def test_unknown_adapter_and_wrong_type_are_named(tmp_path: Path) -> None:
    config = tmp_path / "wrong.yaml"
    config.write_text("warehouse:\n  type: oracle\nseed: many\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    message = str(info.value)
    assert "warehouse.type: Input should be 'duckdb' or 'postgres'" in message
    assert "seed: Input should be a valid integer" in message


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    config = tmp_path / "empty.yaml"
    config.write_text("")
    assert load_settings(config) == load_settings()


def test_allowed_lateness_is_a_setting_the_online_store_uses(tmp_path: Path) -> None:
    import datetime as dt

    from cartwise.bootstrap import make_online_store

    config = tmp_path / "cartwise.yaml"
    config.write_text("online_store:\n  allowed_lateness_seconds: 600\n")
    store = make_online_store(load_settings(config))
    assert store.allowed_lateness == dt.timedelta(minutes=10)
    assert make_online_store(load_settings()).allowed_lateness == dt.timedelta(hours=1)
    config.write_text("online_store:\n  allowed_lateness_seconds: -5\n")
    with pytest.raises(ConfigError, match="allowed_lateness_seconds"):
        load_settings(config)
