"""Where the public benchmark datasets live, and a skip that says why when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

__all__ = ["SHARED_DATASETS", "shared_dataset"]

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = Path(os.environ.get("CARTWISE_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


def shared_dataset(name: str) -> Path:
    """Path of a dataset folder under ../shared/datasets, or skip the test saying why."""
    path = SHARED_DATASETS / name
    if not path.exists():
        pytest.skip(f"dataset {name} not found at {path}: ../shared/datasets is absent on this machine")
    return path
