"""Devices, payment instruments, IP addresses, shipping addresses and places.

Inside the simulator they are integer codes handed out by one allocator; at the end
they become opaque hashed strings, as a company would receive them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["CELLS_PER_REGION", "REGIONS", "CodeAllocator", "codes_to_strings", "geo_cells"]

IntArray = npt.NDArray[np.int64]

REGIONS: tuple[tuple[str, str, float], ...] = (
    ("US-CA", "9q", 12.0),
    ("US-TX", "9v", 9.0),
    ("US-FL", "dh", 6.5),
    ("US-NY", "dr", 6.0),
    ("US-PA", "dp", 4.0),
    ("US-IL", "dn", 3.8),
    ("US-OH", "dq", 3.5),
    ("US-GA", "dj", 3.2),
    ("US-WA", "c2", 2.3),
    ("US-AZ", "9t", 2.2),
)
"""(region code, geohash prefix, population weight)."""

CELLS_PER_REGION = 64
_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_MASK = (1 << 48) - 1
_SALTS = {"dev": 0x5DEECE66D, "pi": 0x2545F4914F6C, "ip": 0x9E3779B97F4A, "addr": 0x7F4A7C159E37}


@dataclass
class CodeAllocator:
    """Hands out fresh integer codes per kind of identifier, in call order."""

    next_code: dict[str, int] = field(default_factory=dict)

    def take(self, kind: str, n: int) -> IntArray:
        first = self.next_code.get(kind, 0)
        self.next_code[kind] = first + n
        return np.arange(first, first + n, dtype=np.int64)


def codes_to_strings(kind: str, codes: IntArray) -> pa.Array:
    """Opaque, unique strings for codes (a bijective scramble, so equal codes give equal strings)."""
    unique, inverse = np.unique(codes, return_inverse=True)
    # Multiply by an odd constant modulo 2**48 (a bijection), then mix in a per-kind salt.
    scrambled = ((unique.astype(np.uint64) * np.uint64(0x9E3779B1)) & np.uint64(_MASK)) ^ np.uint64(
        _SALTS[kind]
    )
    names = pa.array([f"{kind}_{int(v):012x}" for v in scrambled], type=pa.string())
    return names.take(pa.array(inverse.astype(np.int64)))


def geo_cells() -> list[str]:
    """Five-character geohash cells, ``CELLS_PER_REGION`` per region, fixed for every seed."""
    cells: list[str] = []
    for r, (_, prefix, _) in enumerate(REGIONS):
        for k in range(CELLS_PER_REGION):
            h = (r * 7919 + k * 104729 + 12345) % (32**3)
            cells.append(prefix + _BASE32[h // 1024] + _BASE32[(h // 32) % 32] + _BASE32[h % 32])
    return cells
