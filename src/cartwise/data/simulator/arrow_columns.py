"""Arrow columns from the simulator's integer arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from cartwise.domain.schemas import TIMESTAMP

__all__ = ["names", "timestamps"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def timestamps(us: IntArray, valid: BoolArray | None = None) -> pa.Array:
    """UTC microsecond timestamps from int64 microseconds (null where not ``valid``)."""
    if valid is None:
        return pa.array(us, type=pa.int64()).cast(TIMESTAMP)
    return pa.array(np.where(valid, us, 0), type=pa.int64(), mask=~valid).cast(TIMESTAMP)


def names(values: tuple[str, ...] | list[str], index: IntArray) -> pa.Array:
    """``values[index]`` as a string column."""
    return pa.array(list(values), type=pa.string()).take(pa.array(index, type=pa.int64()))
