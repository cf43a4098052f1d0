"""Train/test splits for recommenders: stratified per user or item, and by time.

:func:`stratified_split` reproduces Microsoft Recommenders'
``python_stratified_split`` row for row, so our MovieLens numbers sit next to
their table: the legacy NumPy generator is seeded, one uniform draw is made per
row in input order, rows are ordered by (group, draw), each row gets the
fraction ``position / group size`` and goes to train when that fraction is at
most ``ratio``. A group of one row therefore lands in test, a group of two is
split one and one. :func:`chrono_split` is the same with the timestamp as the
order. :func:`time_split` is the production protocol: train before a cut-off,
test from it on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cartwise.errors import SchemaError

__all__ = ["Split", "chrono_split", "stratified_split", "time_split"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """A train frame and a test frame with the input's columns."""

    train: pd.DataFrame
    test: pd.DataFrame


def _group_column(frame: pd.DataFrame, filter_by: str, user: str, item: str) -> str:
    if filter_by not in ("user", "item"):
        raise ValueError(f"filter_by must be 'user' or 'item', got {filter_by!r}")
    column = user if filter_by == "user" else item
    for c in (user, item):
        if c not in frame.columns:
            raise SchemaError(f"interactions lack column {c!r}; they have {list(frame.columns)}")
    return column


def _min_count(frame: pd.DataFrame, column: str, min_rating: int) -> pd.DataFrame:
    if min_rating < 1:
        raise ValueError(f"min_rating must be an integer >= 1, got {min_rating}")
    if min_rating == 1:
        return frame
    counts = frame.groupby(column)[column].transform("size")
    return frame.loc[counts >= min_rating]


def _split_by_order(frame: pd.DataFrame, column: str, order: np.ndarray, ratio: float) -> Split:
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must lie strictly between 0 and 1, got {ratio}")
    keys = frame[column].to_numpy()
    positions = np.lexsort((order, keys))  # by group, then by the order column
    ordered = frame.iloc[positions]
    groups = ordered.groupby(column, sort=False)
    size = groups[column].transform("size").to_numpy()
    fraction = (groups.cumcount().to_numpy() + 1) / size
    in_train = fraction <= ratio
    return Split(ordered.loc[in_train].copy(), ordered.loc[~in_train].copy())


def stratified_split(
    interactions: pd.DataFrame,
    ratio: float = 0.75,
    *,
    filter_by: str = "user",
    min_rating: int = 1,
    seed: int = 42,
    user: str = "user_id",
    item: str = "item_id",
) -> Split:
    """Random split keeping ``ratio`` of each user's (or item's) rows in train.

    Same rows as Microsoft Recommenders' ``python_stratified_split`` with the
    same arguments and input row order.
    """
    column = _group_column(interactions, filter_by, user, item)
    frame = _min_count(interactions, column, min_rating)
    # The legacy global generator, seeded as theirs is, gives the same draws.
    draws = np.random.RandomState(seed).rand(len(frame))
    return _split_by_order(frame, column, draws, ratio)


def chrono_split(
    interactions: pd.DataFrame,
    ratio: float = 0.75,
    *,
    filter_by: str = "user",
    min_rating: int = 1,
    user: str = "user_id",
    item: str = "item_id",
    timestamp: str = "timestamp",
) -> Split:
    """Each user's (or item's) earliest ``ratio`` of rows in train, the rest in test."""
    column = _group_column(interactions, filter_by, user, item)
    if timestamp not in interactions.columns:
        raise SchemaError(f"interactions lack the timestamp column {timestamp!r}")
    frame = _min_count(interactions, column, min_rating)
    return _split_by_order(frame, column, frame[timestamp].to_numpy(), ratio)


def time_split(interactions: pd.DataFrame, cutoff: object, *, timestamp: str = "timestamp") -> Split:
    """Rows strictly before ``cutoff`` in train, rows at or after it in test."""
    if timestamp not in interactions.columns:
        raise SchemaError(f"interactions lack the timestamp column {timestamp!r}")
    ts = interactions[timestamp]
    cut = pd.Timestamp(cutoff)  # type: ignore[arg-type]
    if isinstance(ts.dtype, pd.DatetimeTZDtype) and cut.tzinfo is None:
        cut = cut.tz_localize("UTC")
    before = (ts < cut).to_numpy()
    split = Split(interactions.loc[before].copy(), interactions.loc[~before].copy())
    if split.train.empty or split.test.empty:
        raise ValueError(
            f"cut-off {cut} leaves {len(split.train)} train and {len(split.test)} test rows; "
            f"pick a date between {ts.min()} and {ts.max()}"
        )
    return split
