"""Lineage: the data content hash is stable for the same rows and changes with any value; schemas map dtypes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cartwise.errors import SchemaError
from cartwise.registry.history import AuditEvent, champion_lineage
from cartwise.registry.lineage import frame_content_hash, frame_time_range, git_commit
from cartwise.registry.schema import InputSchema


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "at": pd.to_datetime(["2026-01-02", "2026-01-01", "2026-01-05"], utc=True),
            "amount": [1.5, 2.5, 3.5],
            "n": np.array([1, 2, 3], dtype=np.int32),
            "plan": ["pay_in_4", "pay_monthly_3", "pay_in_4"],
        }
    )


def test_content_hash_is_stable_and_sensitive() -> None:
    a, b = _frame(), _frame()
    assert frame_content_hash([a]) == frame_content_hash([b])
    assert len(frame_content_hash([a])) == 64
    b.loc[1, "amount"] = 2.5000001
    assert frame_content_hash([a]) != frame_content_hash([b])
    assert frame_content_hash([a, a]) != frame_content_hash([a])
    assert frame_content_hash([a.iloc[::-1]]) != frame_content_hash([a])  # row order is part of the data


def test_content_hash_same_for_pandas_and_arrow() -> None:
    frame = _frame()
    assert frame_content_hash([frame]) == frame_content_hash(
        [pa.Table.from_pandas(frame, preserve_index=False)]
    )


def test_time_range() -> None:
    start, end = frame_time_range([_frame()], "at") or (None, None)
    assert start == datetime(2026, 1, 1, tzinfo=UTC)
    assert end == datetime(2026, 1, 5, tzinfo=UTC)
    assert frame_time_range([_frame().iloc[:0]], "at") is None


def test_git_commit_is_a_sha_or_unknown() -> None:
    commit = git_commit()
    assert commit == "unknown" or (len(commit) == 40 and int(commit, 16) >= 0)


def test_input_schema_from_frame_folds_widths() -> None:
    schema = InputSchema.from_frame(_frame())
    assert schema.as_dict() == {"at": "datetime", "amount": "double", "n": "long", "plan": "string"}
    assert InputSchema.from_json(schema.to_json()) == schema
    with pytest.raises(SchemaError, match="not in the frame"):
        InputSchema.from_frame(_frame(), ["amount", "missing"])


def _event(action: str, frm: int | None, to: int) -> AuditEvent:
    return AuditEvent(action, "fraud", frm, to, "me", datetime(2026, 1, 1, tzinfo=UTC), "why")  # type: ignore[arg-type]


def test_champion_lineage_promote_pushes_rollback_pops() -> None:
    events = [_event("promote", None, 1), _event("promote", 1, 2), _event("promote", 2, 4)]
    assert champion_lineage(events) == [1, 2, 4]
    assert champion_lineage([*events, _event("rollback", 4, 2)]) == [1, 2]
    assert champion_lineage([*events, _event("rollback", 4, 2), _event("rollback", 2, 1)]) == [1]
    assert champion_lineage([*events, _event("rollback", 4, 2), _event("promote", 2, 5)]) == [1, 2, 5]


def test_audit_event_json_round_trip() -> None:
    event = _event("promote", 1, 2)
    assert AuditEvent.from_json(event.to_json()) == event
