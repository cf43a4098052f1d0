"""docs/data-model.md documents every column of every table, with its Arrow type, and the
simulator's documented ranges match the ones the tests enforce."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cartwise.data.simulator.ranges import DOCUMENTED_RANGES
from cartwise.domain.schemas import PROTECTED_ATTRIBUTES, TABLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^### `(\w+)`\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _documented_columns(section: str) -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", section, flags=re.MULTILINE)
    return dict(rows)


@pytest.mark.parametrize("name", list(TABLES))
def test_every_column_is_documented_with_its_type(name: str) -> None:
    sections = _sections()
    assert name in sections, f"docs/data-model.md has no '### `{name}`' section"
    documented = _documented_columns(sections[name])
    spec = TABLES[name]
    assert list(documented) == spec.columns, f"{name}: documented columns differ from the schema"
    for field in spec.schema:
        assert documented[field.name] == str(field.type), f"{name}.{field.name}"


def test_no_section_documents_a_table_that_does_not_exist() -> None:
    assert set(_sections()) <= set(TABLES)


def test_protected_attributes_and_label_times_are_marked() -> None:
    sections = _sections()
    for column in PROTECTED_ATTRIBUTES:
        assert re.search(
            rf"^\| `{column}` \|.*\*\*Protected\.\*\*", sections["customers"], flags=re.MULTILINE
        )
    for spec in TABLES.values():
        if spec.known_at:
            assert f"**known at `{spec.known_at}`**" in sections[spec.name].replace("\n", " ")


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


def test_documented_ranges_match_the_enforced_ones() -> None:
    text = DOC.read_text()
    r = DOCUMENTED_RANGES
    for low, high in (r.true_fraud_rate, r.reported_fraud_rate, r.default_rate, r.unreported_share):
        assert f"| {_percent(low)} – {_percent(high)} |" in text, (low, high)
    for low, high in (r.chargeback_delay_days, r.median_chargeback_delay_days):
        assert f"| {low:.0f} – {high:.0f} days |" in text, (low, high)
