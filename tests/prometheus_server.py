"""Run Debian's real Prometheus against a scrape target, for tests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["free_port", "query", "run_prometheus", "wait_for"]

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@contextmanager
def run_prometheus(target: str, workdir: Path) -> Iterator[str]:
    """Base URL of a real Prometheus scraping ``target`` every second, with cartwise's rules loaded."""
    binary = shutil.which("prometheus")
    if binary is None:  # make test installs it: missing is a failure, not a skip
        pytest.fail(
            "prometheus is not installed; run `bash scripts/system-deps.sh` as root (Debian package prometheus)"
        )
    (workdir / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {REPO / 'deploy' / 'prometheus' / 'alerts.yml'}\n"
        "scrape_configs:\n  - job_name: cartwise\n    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    port = free_port()
    log = (workdir / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"prometheus exited with {proc.returncode}: {(workdir / 'prometheus.log').read_text()[-2000:]}"
                )
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("prometheus did not become ready within 30 s")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def query(url: str, expr: str) -> dict[str, Any]:
    result: dict[str, Any] = _get(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    return result


def wait_for(url: str, expr: str, timeout: float = 30) -> list[dict[str, Any]]:
    """The query's result rows once it has any (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        data = query(url, expr)["data"]["result"]
        if data:
            return list(data)
        if time.monotonic() > deadline:
            pytest.fail(f"prometheus returned nothing for {expr} within {timeout} s")
        time.sleep(0.5)
