"""`when` on a field rule: read only from records holding the given sibling values, written along with the rule's
value. Zoho's calls use it for What_Id + `$se_module: Leads` (a call on a Lead), next to Who_Id (on a Contact)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmsync.mappings.loader import check_mappings, load_mappings
from crmsync.sync_engine.records import SourceRecord

MAPPING = """
system: zoho
objects:
  Calls:
    entity: activity
    custom_fields: {match: "*", exclude: [Who_Id, What_Id]}  # lookups are read by their .id paths
    fields:
      - {source: Subject, target: subject}
      - {source: Who_Id.id, target: lead_id, ref: Contacts}
      - {source: What_Id.id, target: lead_id, ref: Leads, when: {$se_module: Leads}}
      - {source: What_Id.id, target: deal_id, ref: Deals, when: {$se_module: Deals}}
"""
START = datetime(2024, 5, 1, 17, tzinfo=UTC)


def patch_of(mapper: Any, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    patch = mapper.to_patch(SourceRecord("zoho", "Calls", "c1", START, payload))
    return patch.values, {name: (ref.object, ref.external_id) for name, ref in patch.refs.items()}


def test_rules_with_when_read_only_the_records_they_match(tmp_path: Path) -> None:
    (tmp_path / "zoho.yaml").write_text(MAPPING)
    mapper = load_mappings(tmp_path).get("zoho", "Calls")
    on_lead = {"Subject": "Call", "What_Id": {"name": "Lovelace", "id": "9"}, "$se_module": "Leads"}
    assert patch_of(mapper, on_lead) == ({"subject": "Call"}, {"lead_id": ("Leads", "9")})
    on_deal = {"Who_Id": {"id": "5"}, "What_Id": {"id": "7"}, "$se_module": "Deals"}
    assert patch_of(mapper, on_deal)[1] == {"lead_id": ("Contacts", "5"), "deal_id": ("Deals", "7")}
    # A path `when` reads is mapped: it never comes back as a custom field.
    assert patch_of(mapper, {"What_Id": {"id": "3"}, "$se_module": "Accounts", "Mood": "good"}) == (
        {"custom.Mood": "good"}, {})


def test_a_rule_with_when_writes_its_values_only_with_its_own(tmp_path: Path) -> None:
    (tmp_path / "zoho.yaml").write_text(MAPPING)
    mapper = load_mappings(tmp_path).get("zoho", "Calls")
    ids = {("Leads", "lead-1"): "9", ("Contacts", "lead-2"): "5", ("Deals", "deal-1"): "7"}

    def resolve(obj: str, canonical_id: str) -> str | None:
        return ids.get((obj, canonical_id))

    on_lead = mapper.to_payload({"subject": "Call", "lead_id": "lead-1"}, resolve)
    assert on_lead == {"Subject": "Call", "What_Id": {"id": "9"}, "$se_module": "Leads"}
    assert patch_of(mapper, on_lead)[1] == {"lead_id": ("Leads", "9")}  # reads back as written (echo hash)
    assert mapper.to_payload({"lead_id": "lead-2"}, resolve) == {"Who_Id": {"id": "5"}}
    assert mapper.to_payload({"lead_id": "lead-3"}, resolve) == {}  # not in the target: neither lookup
    assert mapper.to_payload({"lead_id": "lead-1", "deal_id": "deal-1"}, resolve, only=["lead_id"]) == {
        "What_Id": {"id": "9"}, "$se_module": "Leads"}


def test_when_rules_may_share_a_target_but_plain_rules_may_not(tmp_path: Path) -> None:
    clashing = MAPPING + """      - {source: Owner.id, target: lead_id, ref: Contacts}
      - {source: What_Id.id, target: subject, when: {What_Id.id: "1"}}
      - {source: Description, target: notes, when: {}}
"""
    (tmp_path / "zoho.yaml").write_text(clashing)
    problems = [str(problem) for problem in check_mappings(tmp_path)]
    assert len(problems) == 3, problems
    assert "field #5 (Owner.id): target 'lead_id' is already filled by rule #2 (Who_Id.id)" in problems[0]
    assert "field #6 (What_Id.id): `when` path 'What_Id.id' is also a source of this rule" in problems[1]
    assert "field #7 (Description): `when` needs at least one {path: value}" in problems[2]


def test_builtin_zoho_calls_on_a_lead_round_trip() -> None:
    mapper = load_mappings().get("zoho", "Calls")
    payload = mapper.to_payload({"kind": "call", "subject": "Inbound Call", "direction": "inbound",
                                 "lead_id": "lead-1"}, lambda obj, _cid: "9" if obj == "Leads" else None)
    assert payload == {"Subject": "Inbound Call", "Call_Type": "Inbound", "What_Id": {"id": "9"},
                       "$se_module": "Leads"}
    assert patch_of(mapper, {**payload, "What_Id": {"name": "Lovelace", "id": "9"}, "Who_Id": None}) == (
        {"kind": "call", "subject": "Inbound Call", "direction": "inbound"}, {"lead_id": ("Leads", "9")})
