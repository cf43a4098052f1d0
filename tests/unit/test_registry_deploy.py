"""The Kubernetes CronJob that runs the retraining pipeline: parsed, and its command checked against the real CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from cartwise.cli.main import _register, app
from cartwise.config import Settings

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "pipeline-cronjob.yaml"


def _documents() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    return {d["kind"]: d for d in docs}


def test_cronjob_runs_the_pipeline_nightly_without_overlap() -> None:
    cronjob = _documents()["CronJob"]
    assert cronjob["apiVersion"] == "batch/v1"
    spec = cronjob["spec"]
    minute, hour, *rest = spec["schedule"].split()
    assert rest == ["*", "*", "*"]
    assert 0 <= int(minute) < 60
    assert 0 <= int(hour) < 24
    assert spec["concurrencyPolicy"] == "Forbid"
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    (container,) = pod["containers"]
    assert container["command"][:3] == ["cartwise", "pipeline", "run"]
    assert "--auto-promote" in container["command"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])


def test_cronjob_command_is_accepted_by_the_cli() -> None:
    _register()
    (container,) = _documents()["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    result = CliRunner().invoke(app, [*container["command"][1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "--auto-promote" in result.output


def test_settings_come_from_configmap_and_secret_and_are_valid() -> None:
    docs = _documents()
    env = docs["ConfigMap"]["data"]
    secret = docs["Secret"]["stringData"]
    (container,) = docs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert {"configMapRef": {"name": docs["ConfigMap"]["metadata"]["name"]}} in container["envFrom"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["CARTWISE_CONFIG"].startswith(mounts["config"])
    settings = Settings.model_validate(
        yaml.safe_load(secret["config.yaml"])
    )  # extra="forbid": typos fail here
    assert settings.warehouse.type == "postgres"
    assert settings.tracking_uri.startswith("http")
    assert int(env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) <= 3
