"""`cartwise features materialize` and `cartwise features serve-stream` from the command line."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartwise.cli.main import _register, app
from cartwise.errors import ConfigError

_register()
runner = CliRunner()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARTWISE_CONFIG", raising=False)
    monkeypatch.delenv("CARTWISE_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("online-cli")
    result = runner.invoke(
        app, ["--data-dir", str(path), "simulate", "--customers", "200", "--days", "20", "--seed", "4"]
    )
    assert result.exit_code == 0, result.output
    return path


def test_materialize_loads_the_store_as_of_a_time(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "features", "materialize", "--as-of", "2026-01-15T00:00:00+00:00"]
    )
    assert result.exit_code == 0, result.output
    assert "materialised" in result.output


def test_serve_stream_applies_the_replayed_warehouse(data_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(data_dir),
            "features",
            "serve-stream",
            "--replay-warehouse",
            "--idle-timeout",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    assert "stream processor" in result.output


def test_a_bad_time_or_feature_set_is_named(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "features", "materialize", "--as-of", "yesterday"]
    )
    assert isinstance(result.exception, ConfigError)
    assert "--as-of" in str(result.exception)
    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "features", "materialize", "--feature-set", "nope"]
    )
    assert isinstance(result.exception, ConfigError)
    assert "fraud" in str(result.exception)


@pytest.mark.redis
def test_materialize_into_redis_from_the_settings(data_dir: Path, redis_url: str, tmp_path: Path) -> None:
    import redis

    prefix = f"cli{uuid.uuid4().hex[:6]}"
    config = tmp_path / "cartwise.yaml"
    config.write_text(f"online_store:\n  type: redis\n  url: {redis_url}\n  key_prefix: {prefix}\n")
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(data_dir),
            "--config",
            str(config),
            "features",
            "materialize",
            "--feature-set",
            "fraud",
        ],
    )
    assert result.exit_code == 0, result.output
    client = redis.Redis.from_url(redis_url)
    assert any(True for _ in client.scan_iter(match=f"{prefix}:*", count=1000))
