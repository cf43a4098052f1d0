"""Independent, named random streams derived from one seed.

Each part of the simulator draws from its own stream, keyed by a stable name, so
changing how much one part draws does not shift the numbers of another.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream"]


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator for the part ``name`` of a simulation seeded with ``seed``."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])
