"""Vectorised weighted choice within groups (products of a category and price tier, of a merchant)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["GroupSampler", "choose_rows"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class GroupSampler:
    """Draw members of groups with fixed weights, many draws at once.

    ``groups[i]`` is the group of item ``i`` and ``weights[i]`` its weight; ``sample(g, u)``
    returns, for each group ``g[j]``, the item at quantile ``u[j]`` of that group's weights.
    """

    def __init__(self, groups: IntArray, weights: FloatArray, n_groups: int) -> None:
        order = np.lexsort((np.arange(len(groups)), groups))
        self.items: IntArray = order.astype(np.int64)
        sorted_groups = groups[order]
        self.starts: IntArray = np.searchsorted(sorted_groups, np.arange(n_groups + 1)).astype(np.int64)
        self.sizes: IntArray = np.diff(self.starts)
        w = weights[order].astype(np.float64)
        totals = np.bincount(sorted_groups, weights=w, minlength=n_groups)
        cum = np.cumsum(w) - np.repeat(np.concatenate([[0.0], np.cumsum(totals)[:-1]]), self.sizes)
        safe = np.where(totals > 0, totals, 1.0)
        # Group g occupies (g, g+1] on one global axis, so one searchsorted serves every group.
        self._axis: FloatArray = sorted_groups + cum / np.repeat(safe, self.sizes)

    def sample(self, groups: IntArray, u: FloatArray) -> IntArray:
        """One item per entry of ``groups`` (every group asked for must be non-empty)."""
        if len(groups) and (self.sizes[groups] == 0).any():
            raise ValueError("asked to sample from an empty group")
        pos = np.searchsorted(self._axis, groups + u, side="left")
        pos = np.clip(pos, self.starts[groups], self.starts[groups + 1] - 1)
        return self.items[pos]


def choose_rows(probabilities: FloatArray, u: FloatArray) -> IntArray:
    """For each row of a probability matrix, the column at quantile ``u`` of that row."""
    cum = np.cumsum(probabilities, axis=1)
    cum /= cum[:, -1:]
    picked = (cum < u[:, None]).sum(axis=1)
    out: IntArray = np.minimum(picked, probabilities.shape[1] - 1).astype(np.int64)
    return out
