"""API keys: hashed at rest, scoped, rate-limited per key.

A key file (JSON) holds one entry per client: its name, the SHA-256 of its key,
its scopes and its rate limit. The raw key is shown once, when created, and never
stored. Keys are long random tokens, so a fast hash is enough (no salt or
stretching is needed against guessing a 256-bit secret).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cartwise.errors import ConfigError

__all__ = [
    "SCOPES",
    "ApiKey",
    "KeyRing",
    "RateLimiter",
    "create_key",
    "hash_key",
    "retry_after_header",
]

logger = logging.getLogger(__name__)

SCOPES = ("decisions", "recommendations", "admin")
KEY_PREFIX = "cw_"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """One client's key as stored: never the raw key."""

    client: str
    key_sha256: str
    scopes: frozenset[str]
    rate_per_second: float = 1000.0
    burst: int = 2000

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "key_sha256": self.key_sha256,
            "scopes": sorted(self.scopes),
            "rate_per_second": self.rate_per_second,
            "burst": self.burst,
        }


def _parse(entry: Mapping[str, Any], source: str) -> ApiKey:
    try:
        scopes = frozenset(str(s) for s in entry["scopes"])
        key = ApiKey(
            client=str(entry["client"]),
            key_sha256=str(entry["key_sha256"]).lower(),
            scopes=scopes,
            rate_per_second=float(entry.get("rate_per_second", 1000.0)),
            burst=int(entry.get("burst", 2000)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"{source}: key entry {dict(entry)!r} is invalid ({exc}); each entry needs client, key_sha256 and scopes"
        ) from exc
    unknown = scopes - set(SCOPES)
    if unknown:
        raise ConfigError(
            f"{source}: client {key.client!r} has unknown scopes {sorted(unknown)}; use {SCOPES}"
        )
    if len(key.key_sha256) != 64 or any(c not in "0123456789abcdef" for c in key.key_sha256):
        raise ConfigError(f"{source}: client {key.client!r} key_sha256 is not a hex SHA-256 digest")
    if key.rate_per_second <= 0 or key.burst < 1:
        raise ConfigError(f"{source}: client {key.client!r} needs rate_per_second > 0 and burst >= 1")
    return key


class KeyRing:
    """The known keys, looked up by the hash of the presented key.

    A ring read from a file re-reads it (at most once a second, on an unknown key)
    when it changed, so `cartwise api-key` takes effect without a restart.
    """

    def __init__(self, keys: Iterable[ApiKey], *, path: Path | None = None) -> None:
        self._by_hash = {k.key_sha256: k for k in keys}
        self._path = path
        self._mtime = path.stat().st_mtime_ns if path is not None else 0
        self._checked = time.monotonic()

    @classmethod
    def from_file(cls, path: Path) -> KeyRing:
        return cls(cls._read(path), path=path)

    @staticmethod
    def _read(path: Path) -> list[ApiKey]:
        if not path.is_file():
            raise ConfigError(
                f"API key file {path} does not exist; create a key with `cartwise api-key CLIENT --scope decisions`"
            )
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"API key file {path} is not valid JSON: {exc}") from exc
        entries = raw.get("keys") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            raise ConfigError(f"API key file {path} must be an object with a list under 'keys'")
        return [_parse(e, str(path)) for e in entries]

    def lookup(self, raw_key: str) -> ApiKey | None:
        digest = hash_key(raw_key)
        found = self._by_hash.get(digest)
        if found is None and self._path is not None and time.monotonic() - self._checked > 1.0:
            self._checked = time.monotonic()
            self._reload()
            found = self._by_hash.get(digest)
        return found

    def _reload(self) -> None:
        assert self._path is not None
        try:
            mtime = self._path.stat().st_mtime_ns
            if mtime != self._mtime:
                self._by_hash = {k.key_sha256: k for k in self._read(self._path)}
                self._mtime = mtime
                logger.info("API keys reloaded from %s (%d keys)", self._path, len(self._by_hash))
        except (OSError, ConfigError) as exc:  # keep the keys we have
            logger.error("API key file not reloaded: %s", exc)

    def __len__(self) -> int:
        return len(self._by_hash)


def create_key(
    path: Path, client: str, scopes: Iterable[str], *, rate_per_second: float = 1000.0, burst: int = 2000
) -> str:
    """Add a key for ``client`` to the key file (created if absent); returns the raw key, shown only now."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    entry = ApiKey(client, hash_key(raw_key), frozenset(scopes), rate_per_second, burst)
    _parse(entry.to_dict(), str(path))  # validates the scopes
    existing: list[dict[str, Any]] = []
    if path.is_file():
        KeyRing.from_file(path)  # refuse to extend a broken file
        existing = json.loads(path.read_text())["keys"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"keys": [*existing, entry.to_dict()]}, indent=1))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return raw_key


class RateLimiter:
    """A token bucket per key: ``rate`` tokens a second, up to ``burst``; per server process."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: ApiKey, now: float | None = None) -> float:
        """0.0 when the request may go ahead, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key.key_sha256, (float(key.burst), now))
            tokens = min(float(key.burst), tokens + (now - last) * key.rate_per_second)
            if tokens >= 1.0:
                self._buckets[key.key_sha256] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key.key_sha256] = (tokens, now)
            return (1.0 - tokens) / key.rate_per_second


def retry_after_header(wait_seconds: float) -> str:
    return str(max(1, math.ceil(wait_seconds)))
