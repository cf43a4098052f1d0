"""The stratified split keeps its defining properties; the time split cuts at the date."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartwise.models.recs.splits import chrono_split, stratified_split, time_split


@pytest.fixture
def ratings() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 40, n),
            "item_id": rng.integers(0, 90, n),
            "timestamp": rng.integers(0, 10_000, n),
        }
    )
    return frame.drop_duplicates(["user_id", "item_id"]).reset_index(drop=True)


@pytest.mark.parametrize("filter_by", ["user", "item"])
def test_each_group_keeps_floor_of_ratio_in_train(ratings: pd.DataFrame, filter_by: str) -> None:
    col = "user_id" if filter_by == "user" else "item_id"
    split = stratified_split(ratings, 0.75, filter_by=filter_by, seed=42)
    n = ratings.groupby(col).size()
    n_train = split.train.groupby(col).size().reindex(n.index, fill_value=0)
    # position / size <= 0.75  <=>  position <= floor(0.75 * size): one-row groups go to test
    assert (n_train == np.floor(0.75 * n + 1e-12).astype(int)).all()
    assert len(split.train) + len(split.test) == len(ratings)
    both = pd.concat([split.train, split.test])
    assert not both.duplicated(["user_id", "item_id"]).any()


def test_same_seed_same_rows_other_seed_other_rows(ratings: pd.DataFrame) -> None:
    a = stratified_split(ratings, 0.75, filter_by="item", seed=42)
    b = stratified_split(ratings, 0.75, filter_by="item", seed=42)
    c = stratified_split(ratings, 0.75, filter_by="item", seed=43)
    pd.testing.assert_frame_equal(a.train, b.train)
    assert not a.train.index.equals(c.train.index)


def test_draws_are_the_seeded_legacy_generator_in_input_order(ratings: pd.DataFrame) -> None:
    # The defining algorithm, stated independently: one RandomState(seed).rand draw per
    # input row, order by (item, draw), train = the first 75% of each item's rows.
    draws = pd.Series(np.random.RandomState(42).rand(len(ratings)), index=ratings.index)
    ordered = ratings.assign(draw=draws).sort_values(["item_id", "draw"])
    pos = ordered.groupby("item_id").cumcount() + 1
    size = ordered.groupby("item_id")["item_id"].transform("size")
    expected_train = ordered.index[(pos / size) <= 0.75]
    split = stratified_split(ratings, 0.75, filter_by="item", seed=42)
    assert list(split.train.index) == list(expected_train)


def test_min_rating_drops_small_groups(ratings: pd.DataFrame) -> None:
    split = stratified_split(ratings, 0.75, filter_by="user", min_rating=20)
    kept = ratings.groupby("user_id").size()
    assert set(split.train["user_id"]) | set(split.test["user_id"]) == set(kept[kept >= 20].index)


def test_chrono_split_puts_each_users_latest_rows_in_test(ratings: pd.DataFrame) -> None:
    split = chrono_split(ratings, 0.75, filter_by="user")
    last_train = split.train.groupby("user_id")["timestamp"].max()
    first_test = split.test.groupby("user_id")["timestamp"].min()
    common = last_train.index.intersection(first_test.index)
    assert (last_train[common] <= first_test[common]).all()


def test_time_split_cuts_at_the_date() -> None:
    ts = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"], utc=True)
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 3], "timestamp": ts})
    split = time_split(frame, "2024-02-01")
    assert split.train["item_id"].tolist() == [1]
    assert split.test["item_id"].tolist() == [2, 3]
    with pytest.raises(ValueError, match="cut-off"):
        time_split(frame, "2030-01-01")


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5])
def test_bad_ratio_is_refused(ratings: pd.DataFrame, bad: float) -> None:
    with pytest.raises(ValueError, match="ratio"):
        stratified_split(ratings, bad)
