"""The round-trip rule: a canonical value written by a rule and read back is the same value (or is left out).
Checked when mappings load, and here as a property of every built-in writing rule that holds a value map."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmsync.mappings.core import OMIT
from crmsync.mappings.loader import check_mappings, load_mappings
from crmsync.mappings.mapper import CompiledRule, ObjectMapper
from crmsync.mappings.roundtrip import round_trip_problems
from crmsync.mappings.transforms import build_transform
from crmsync.sync_engine.records import SourceRecord

WHEN = datetime(2024, 5, 1, tzinfo=UTC)
MAPPINGS = load_mappings()


def _mapped_rules() -> list[tuple[ObjectMapper, CompiledRule]]:
    """Every built-in `out`/`both` rule with a value map in its chain."""
    found = []
    for system in MAPPINGS.systems():
        for name in MAPPINGS.objects(system):
            mapper = MAPPINGS.get(system, name)
            found += [(mapper, rule) for rule in mapper._out if any(t.name == "map" for t in rule.chain)]
    return found


MAPPED = _mapped_rules()
CANONICAL_VALUES = sorted({str(p) for _, rule in MAPPED for t in rule.chain for p in t.probes})


def problems(tmp_path: Path, transforms: str, direction: str = "both") -> list[str]:
    (tmp_path / "zoho.yaml").write_text(
        "system: zoho\nobjects:\n  Calls:\n    entity: activity\n    fields:\n"
        f"      - {{source: Call_Type, target: direction, direction: {direction}, transforms: {transforms}}}\n")
    return [str(p) for p in check_mappings(tmp_path) if p.file == str(tmp_path / "zoho.yaml")]


@pytest.mark.parametrize(("mapper", "rule"), MAPPED, ids=lambda x: getattr(x, "object", None) or x.sources[0])
def test_every_builtin_canonical_value_reads_back_as_written_or_is_left_out(mapper: ObjectMapper,
                                                                            rule: CompiledRule) -> None:
    """Every value any built-in map names, through this rule: pushed and read back, or not sent at all."""
    target = rule.targets[0]
    for value in CANONICAL_VALUES:
        payload = mapper.to_payload({target: value}, only=[target])
        if payload:
            back = mapper.to_patch(SourceRecord(mapper.system, mapper.object, "1", WHEN, payload)).values
            assert back.get(target) == value, (value, payload)


@given(value=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs")), min_size=1, max_size=12),
       index=st.integers(min_value=0, max_value=len(MAPPED) - 1))
def test_any_canonical_text_reads_back_as_written_or_is_left_out(value: str, index: int) -> None:
    mapper, rule = MAPPED[index]
    target = rule.targets[0]
    payload = mapper.to_payload({target: value}, only=[target])
    if payload:
        back = mapper.to_patch(SourceRecord(mapper.system, mapper.object, "1", WHEN, payload)).values
        assert back.get(target) == value, payload


def test_reverse_entries_that_read_back_as_something_else_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "[{map: {values: {Inbound: inbound, Missed: inbound}, "
                               "reverse: {inbound: Inbound, missed: Missed}}}]")
    assert len(found) == 1 and "object Calls, field #1 (Call_Type): map: canonical 'missed' is written as " \
                               "'Missed', which reads back as 'inbound'; write it as a value that reads back as " \
                               "itself, or leave it out (`out_unknown: drop`)" in found[0]
    refused = problems(tmp_path, "[{map: {values: {In: inbound}, reverse: {inbound: In, out: Out}, unknown: error}}]")
    assert "canonical 'out' is written as 'Out', which does not read back ('Out' is not in the value map (In))" \
        in refused[0]


def test_a_read_only_rule_is_not_checked_and_a_dropped_value_cannot_drift(tmp_path: Path) -> None:
    drifting = "[{map: {values: {Inbound: inbound, Missed: inbound}, reverse: {inbound: Inbound, missed: Missed}}}]"
    assert problems(tmp_path, drifting, direction="in") == []
    assert problems(tmp_path, "[{map: {values: {Inbound: inbound}, reverse: {inbound: Inbound, missed: Missed}, "
                              "out_unknown: drop}}]") != []  # a listed entry must still read back
    assert problems(tmp_path, "[{map: {values: {Inbound: inbound, Missed: missed}, out_unknown: drop}}]") == []


def test_canonical_values_a_map_reads_but_cannot_write_are_named(tmp_path: Path) -> None:
    found = problems(tmp_path, "[{map: {values: {Inbound: inbound, Missed: missed, Lost: missed}, "
                               "reverse: {inbound: Inbound}}}]")
    assert len(found) == 1 and "value map: canonical 'missed' read from this field has no `reverse` entry, so " \
                               "write-back would send it unchanged; add the entries or set `out_unknown: drop`" \
                               in found[0]
    assert problems(tmp_path, "[{map: {values: {Inbound: inbound, Missed: missed, Lost: missed}, "
                              "reverse: {inbound: Inbound}, out_unknown: drop}}]") == []


def test_a_chain_is_checked_whole_on_its_canonical_side(tmp_path: Path) -> None:
    # Each transform round-trips alone; together `lower` turns the written "In" into "in", which the map lacks.
    found = problems(tmp_path, "[lower, {map: {values: {In: inbound}}}]")
    assert len(found) == 1 and "transforms lower -> map: canonical 'inbound' is written as 'In', which reads back " \
                               "as 'in'" in found[0]
    assert problems(tmp_path, "[lower, {map: {values: {in: inbound}}}]") == []


def test_an_integer_scale_that_rounds_on_write_is_refused() -> None:
    assert round_trip_problems([build_transform({"scale": {"factor": 0.001}}, None)]) == []
    assert round_trip_problems([build_transform({"scale": {"factor": 0.01, "integer": False}}, None)]) == []
    found = round_trip_problems([build_transform({"scale": {"factor": 60}}, None)])
    assert found[0].startswith("scale: canonical 1 is written as 0, which reads back as 0")
    # Dividing by 60 is not exact in decimals either: 7 comes back as 7.000000000000000000000000002.
    assert round_trip_problems([build_transform({"scale": {"factor": 60, "integer": False}}, None)])


def test_mm_ss_durations_round_trip() -> None:
    clock = build_transform("mm_ss", None)
    assert clock.reverse is not None and round_trip_problems([clock]) == []
    assert [clock.reverse(s, {}) for s in (0, 31, 125, 7200)] == ["00:00", "00:31", "02:05", "120:00"]
    assert [clock.forward(t, {}) for t in ("02:05", "1:02:05", "95", 7)] == [125, 3725, 95, 7]


def test_omit_is_what_a_dropping_map_writes() -> None:
    dropping = build_transform({"map": {"values": {"In": "inbound"}, "out_unknown": "drop"}}, None)
    keeping = build_transform({"map": {"values": {"In": "inbound"}}}, None)
    assert dropping.reverse is not None and keeping.reverse is not None
    assert dropping.reverse("missed", {}) is OMIT and keeping.reverse("missed", {}) == "missed"
    assert dropping.reverse("inbound", {}) == "In"
