"""API keys hashed at rest, scopes, and the per-key token bucket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cartwise.errors import ConfigError
from cartwise.serving.security import ApiKey, KeyRing, RateLimiter, create_key, hash_key, retry_after_header


def test_created_key_is_stored_only_as_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    raw = create_key(path, "checkout-web", ["decisions"], rate_per_second=5, burst=10)
    raw2 = create_key(path, "shop", ["recommendations", "decisions"])
    text = path.read_text()
    assert raw not in text
    assert raw2 not in text
    assert hash_key(raw) in text
    assert path.stat().st_mode & 0o077 == 0  # readable by the owner only
    ring = KeyRing.from_file(path)
    assert len(ring) == 2
    found = ring.lookup(raw)
    assert found is not None
    assert found.client == "checkout-web"
    assert found.scopes == {"decisions"}
    assert ring.lookup(raw + "x") is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{nope", "not valid JSON"),
        ('{"keys": 3}', "list under 'keys'"),
        (
            '{"keys": [{"client": "a", "key_sha256": "' + "0" * 64 + '", "scopes": ["root"]}]}',
            "unknown scopes",
        ),
        ('{"keys": [{"client": "a", "key_sha256": "abc", "scopes": ["admin"]}]}', "not a hex SHA-256"),
        ('{"keys": [{"client": "a"}]}', "needs client, key_sha256 and scopes"),
    ],
)
def test_bad_key_files_are_refused_with_the_reason(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        KeyRing.from_file(path)


def test_missing_key_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cartwise api-key"):
        KeyRing.from_file(tmp_path / "absent.json")


def test_unknown_scope_is_refused_at_creation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown scopes"):
        create_key(tmp_path / "k.json", "x", ["everything"])
    assert not (tmp_path / "k.json").exists()


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    key = ApiKey("c", hash_key("k"), frozenset({"decisions"}), rate_per_second=10.0, burst=3)
    limiter = RateLimiter()
    assert [limiter.acquire(key, now=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire(key, now=100.0)
    assert wait == pytest.approx(0.1)
    assert retry_after_header(wait) == "1"
    assert limiter.acquire(key, now=100.11) == 0.0  # one token refilled
    assert limiter.acquire(key, now=100.11) > 0
    assert limiter.acquire(key, now=200.0) == 0.0  # refills up to the burst only
    assert [limiter.acquire(key, now=200.0) for _ in range(3)][-1] > 0
    assert json.dumps(key.to_dict())


def test_new_keys_are_picked_up_without_a_restart(tmp_path: Path) -> None:
    import os
    import time

    path = tmp_path / "keys.json"
    create_key(path, "first", ["decisions"])
    ring = KeyRing.from_file(path)
    later = create_key(path, "second", ["recommendations"])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a visible change
    ring._checked -= 2  # as if a second had passed since the last look
    found = ring.lookup(later)
    assert found is not None
    assert found.client == "second"
    assert len(ring) == 2
    assert time.monotonic() - ring._checked < 1.0
