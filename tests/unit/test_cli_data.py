"""The data commands from the command line: simulate, demo, tables, ingest, --help, settings errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cartwise.cli.main import _register, app, main
from cartwise.data.duckdb_warehouse import DuckDBWarehouse
from cartwise.data.simulator.manifest import read_manifest
from cartwise.domain.schemas import TABLES
from cartwise.errors import ConfigError, SchemaError, WarehouseError

_register()
runner = CliRunner()
SMALL = ["--customers", "300", "--days", "30", "--seed", "3"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARTWISE_CONFIG", raising=False)
    monkeypatch.delenv("CARTWISE_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding a small simulated marketplace, written by `cartwise simulate`."""
    data_dir = tmp_path_factory.mktemp("cli")
    result = runner.invoke(app, ["--data-dir", str(data_dir), "simulate", *SMALL])
    assert result.exit_code == 0, result.output
    return data_dir


@pytest.mark.parametrize("command", [[], ["simulate"], ["demo"], ["tables"], ["ingest"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_simulate_writes_every_table_and_prints_the_summary(simulated: Path) -> None:
    with DuckDBWarehouse(simulated / "warehouse.duckdb", read_only=True) as warehouse:
        assert warehouse.table_names() == sorted(TABLES)
        assert warehouse.row_count("events") > 1000


def test_simulate_output_names_the_headline_figures(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--data-dir", str(tmp_path), "simulate", *SMALL, "--drift-start-day", "20"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    for text in (
        "rows: checkouts",
        "fraud rate",
        "default rate",
        "chargeback delay",
        "drift day",
        "2026-01-21",
        "rows/s",
    ):
        assert text in result.output, text


def test_simulate_leaves_a_manifest_with_the_drift_day(simulated: Path) -> None:
    manifest = read_manifest(simulated)
    assert (manifest.customers, manifest.days, manifest.seed) == (300, 30, 3)
    assert manifest.drift_start == dt.datetime(2026, 1, 25, tzinfo=dt.UTC)  # day 24 = 80% of 30
    assert manifest.end == dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    with DuckDBWarehouse(simulated / "warehouse.duckdb", read_only=True) as warehouse:
        assert manifest.rows == {name: warehouse.row_count(name) for name in TABLES}
    for merchant_id, start, end in manifest.compromised_windows:
        assert merchant_id >= 1
        assert manifest.start <= start < end <= manifest.drift_start


def test_a_missing_or_broken_manifest_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `cartwise simulate` with this --data-dir first"):
        read_manifest(tmp_path)
    (tmp_path / "simulation.json").write_text('{"customers": 3}')
    with pytest.raises(ConfigError, match="is not a valid simulation manifest"):
        read_manifest(tmp_path)


def test_tables_lists_row_counts(simulated: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(simulated), "tables"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for name in TABLES:
        assert name in result.output


def test_demo_on_too_little_data_explains_what_is_missing(tmp_path: Path) -> None:
    """A 30-day marketplace is too short to train fraud and credit: the demo says so and fails."""
    result = runner.invoke(
        app, ["--data-dir", str(tmp_path), "demo", *SMALL, "--no-serve"], terminal_width=200
    )
    assert result.exit_code == 1, result.output
    assert "fraud rate" in result.output
    assert "rows: events" in result.output
    assert "use more days of data" in " ".join(result.output.split())
    assert (tmp_path / "warehouse.duckdb").is_file()


def test_demo_does_not_start_a_service_that_could_never_be_ready(tmp_path: Path) -> None:
    """Without a champion for every model the service cannot answer: the demo says which and stops."""
    argv = ["--data-dir", str(tmp_path), "demo", *SMALL, "--port", str(_free_port())]
    result = runner.invoke(app, argv, terminal_width=200)
    assert result.exit_code == 1, result.output
    output = " ".join(result.output.split())
    assert "not starting the decision service: no champion for fraud, credit, recs" in output
    assert "cartwise demo -n 50000 -d 180" in output
    assert "4/4" not in output  # the service step never began
    assert not (tmp_path / "serving" / "api_keys.json").exists()  # no demo key was made either


@contextlib.contextmanager
def _listening() -> Iterator[int]:
    """A port on 127.0.0.1 that a socket listens on for the duration of the block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _free_port() -> int:
    with _listening() as port:
        return port  # closed on return: free again


def test_serve_and_demo_refuse_a_port_already_in_use_before_doing_anything(tmp_path: Path) -> None:
    """Else the new service fails to bind only after loading, and the old one answers meanwhile."""
    with _listening() as port:
        for argv in (["serve", "--port", str(port)], ["demo", *SMALL, "--port", str(port)]):
            result = runner.invoke(app, ["--data-dir", str(tmp_path), *argv])
            assert isinstance(result.exception, ConfigError), result.output
            assert f"cannot listen on 127.0.0.1:{port}" in str(result.exception)
            assert "pass --port" in str(result.exception)
    assert not (tmp_path / "warehouse.duckdb").exists()  # the demo stopped before simulating
    assert not (tmp_path / "serving" / "api_keys.json").exists()


def test_bad_option_values_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "simulate", "--customers", "5"])
    assert result.exit_code == 2
    assert "--customers" in result.output
    result = runner.invoke(
        app, ["--data-dir", str(tmp_path), "simulate", "--days", "30", "--drift-start-day", "40"]
    )
    assert isinstance(result.exception, ConfigError)
    assert "drift_start_day must be between 1 and days=30" in str(result.exception)


def test_ingest_round_trip_and_failure(simulated: Path, tmp_path: Path) -> None:
    with DuckDBWarehouse(simulated / "warehouse.duckdb", read_only=True) as warehouse:
        merchants = warehouse.read_table("merchants")
    good = tmp_path / "merchants.parquet"
    pq.write_table(merchants, good)
    data_dir = tmp_path / "data"
    result = runner.invoke(app, ["--data-dir", str(data_dir), "ingest", "merchants", str(good)])
    assert result.exit_code == 0, result.output
    assert f"ingested {merchants.num_rows:,} rows into merchants" in result.output

    bad = tmp_path / "bad.parquet"
    pq.write_table(merchants.drop_columns(["fee_rate"]), bad)
    result = runner.invoke(app, ["--data-dir", str(data_dir), "ingest", "merchants", str(bad)])
    assert result.exit_code != 0
    assert isinstance(result.exception, SchemaError)
    assert "table 'merchants': missing column(s) fee_rate" in str(result.exception)
    with DuckDBWarehouse(data_dir / "warehouse.duckdb", read_only=True) as warehouse:
        assert warehouse.read_table("merchants").equals(merchants)

    result = runner.invoke(
        app, ["--data-dir", str(data_dir), "ingest", "merchants", str(good), "--mode", "upsert"]
    )
    assert result.exit_code == 2
    assert "--mode must be 'replace' or 'append'" in result.output


def test_the_entry_point_turns_errors_into_one_line_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "m.csv"
    bad.write_text("merchant_id,name\n1,Acme\n")
    monkeypatch.setattr(
        sys, "argv", ["cartwise", "--data-dir", str(tmp_path), "ingest", "merchants", str(bad)]
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert "missing column(s) category, fee_rate, created_at" in err


def test_config_file_errors_reach_the_command_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(tmp_path / "absent.yaml"), "tables"])
    assert isinstance(result.exception, ConfigError)
    assert "does not exist" in str(result.exception)
    config = tmp_path / "c.yaml"
    config.write_text("warehouse:\n  kind: duckdb\n")
    result = runner.invoke(app, ["--config", str(config), "tables"])
    assert isinstance(result.exception, ConfigError)
    assert "warehouse.kind: Extra inputs are not permitted" in str(result.exception)


def test_a_config_file_picks_the_warehouse(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"warehouse:\n  path: {tmp_path / 'elsewhere.duckdb'}\n")
    result = runner.invoke(
        app, ["--config", str(config), "--data-dir", str(tmp_path / "d"), "simulate", *SMALL]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere.duckdb").is_file()
    assert not (tmp_path / "d" / "warehouse.duckdb").exists()


def test_serve_refuses_a_decision_batch_below_one_before_starting(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "serve", "--max-batch", "0"])
    assert isinstance(result.exception, ConfigError)
    assert "--max-batch must be at least 1" in str(result.exception)
    assert not (tmp_path / "serving" / "api_keys.json").exists()  # refused before doing anything


def test_serve_refuses_a_currency_that_is_not_an_iso_code_before_starting(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "serve", "--currency", "dollars"])
    assert isinstance(result.exception, ConfigError)
    assert "--currency 'DOLLARS' is not a three-letter ISO 4217 code" in str(result.exception)
    assert not (tmp_path / "serving" / "api_keys.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["model", "list"], "No such command 'model'. Did you mean 'models'?"),
        (["models", "lst"], "No such command 'lst'. Did you mean 'list'?"),
        (["tables", "--bogus"], "No such option: --bogus"),
    ],
)
def test_the_entry_point_prints_usage_mistakes_without_a_traceback(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["cartwise", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Usage: cartwise" in err
    assert "Traceback" not in err


def test_a_command_that_fails_exits_non_zero_through_the_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`pipeline run` on a data folder with no warehouse reports each model's failure and exits 1.

    Schedulers and CI read the exit code, so a run in which no model could be trained must not
    exit 0; the warehouse is opened read-only and is neither created nor left half-made.
    """
    data_dir = tmp_path / "empty"
    monkeypatch.setattr(sys, "argv", ["cartwise", "--data-dir", str(data_dir), "pipeline", "run"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    out = "".join((captured.out + captured.err).split())  # the console wraps long paths anywhere
    for model in ("fraud", "credit", "recs"):
        assert f"{model}:noDuckDBwarehouseat{data_dir / 'warehouse.duckdb'}" in out
    assert "run`cartwisesimulate`or`cartwiseingestTABLEFILE`first" in out
    assert not (data_dir / "warehouse.duckdb").exists()


def test_a_missing_warehouse_opened_read_only_names_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    with pytest.raises(WarehouseError, match=r"no DuckDB warehouse at .*run `cartwise simulate`"):
        DuckDBWarehouse(missing, read_only=True).table_names()
    assert not missing.parent.exists()  # reading creates nothing
