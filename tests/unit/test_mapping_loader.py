from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from crmsync.errors import MappingError
from crmsync.mappings.loader import check_mappings, load_mappings
from crmsync.sync_engine.records import SourceRecord

BROKEN = """
system: salesforce
objects:
  Lead:
    entity: lead
    fields:
      - {source: Email, target: emial}
      - {source: Phone, target: phone, transforms: [phoen]}
      - {source: Status, target: lead_status, direction: sideways}
      - source: Rating
        target: lead_status
        transforms: [{map: {values: {Hot: qualified, Warm: qualified}}}]
      - {constant: web, target: source, direction: both}
  Deal:
    entity: opportunity
    fields: []
"""


def record(system: str, obj: str, payload: dict, **kw) -> SourceRecord:
    return SourceRecord(system, obj, str(payload.get("Id") or payload.get("id")),
                        datetime(2026, 1, 1, tzinfo=UTC), payload, **kw)


def test_builtin_mappings_are_valid():
    assert check_mappings() == []


def test_broken_mapping_names_every_problem_with_file_object_and_field(tmp_path: Path):
    (tmp_path / "salesforce.yaml").write_text(BROKEN)
    problems = [str(p) for p in check_mappings(tmp_path)]
    text = "\n".join(problems)
    file = str(tmp_path / "salesforce.yaml")
    assert all(p.startswith(file) for p in problems)
    assert "object Lead, field #3 (Status): direction" in text
    assert "object Deal" in text and "entity" in text
    # pydantic stops at schema errors; fix those and the semantic problems all show at once.
    fixed = BROKEN.replace("direction: sideways", "direction: in").replace("entity: opportunity", "entity: deal")
    (tmp_path / "salesforce.yaml").write_text(fixed)
    problems = [str(p) for p in check_mappings(tmp_path)]
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert "field #1 (Email): target 'emial' is not a field of lead" in text
    assert "field #2 (Phone): unknown transform 'phoen'" in text
    assert "field #4 (Rating): transform 'map' cannot be reversed" in text
    assert "field #5 (source): a constant is read into `target` (`direction: in`) or written to `source`" in text


def test_load_refuses_broken_mappings_and_user_dir_overrides(tmp_path: Path):
    (tmp_path / "salesforce.yaml").write_text(BROKEN)
    with pytest.raises(MappingError, match="mapping problem"):
        load_mappings(tmp_path)
    (tmp_path / "salesforce.yaml").write_text(
        "system: salesforce\nobjects:\n  Lead:\n    entity: lead\n    fields:\n"
        "      - {source: Mail, target: email, transforms: [lower]}\n")
    mapper = load_mappings(tmp_path).get("salesforce", "Lead")
    assert mapper.to_patch(record("salesforce", "Lead", {"Id": "1", "Mail": "X@Y.IO"})).values == {"email": "x@y.io"}


def test_invalid_yaml_and_missing_dir_are_reported(tmp_path: Path):
    (tmp_path / "hubspot.yaml").write_text("objects: [unclosed")
    problems = check_mappings(tmp_path)
    assert len(problems) == 1 and "not valid YAML at line" in str(problems[0])
    assert "does not exist" in str(check_mappings(tmp_path / "missing")[0])


def test_salesforce_lead_maps_to_canonical_patch(mappings):
    patch = mappings.get("salesforce", "Lead").to_patch(record("salesforce", "Lead", {
        "Id": "00Q1", "Email": " Ada@Example.COM ", "Phone": "(415) 555-0101", "FirstName": "Ada", "LastName": "",
        "Status": "Closed - Converted", "Rating__c": "Hot", "crmsync_id__c": "abc", "SystemModstamp": "x",
    }, cleared=frozenset({"LastName", "Title"})))
    assert patch.values == {"email": "ada@example.com", "phone": "+14155550101", "first_name": "Ada",
                            "lead_status": "qualified", "custom.Rating__c": "Hot"}
    assert patch.cleared == {"last_name", "title"}


def test_hubspot_nested_paths_custom_properties_and_types(mappings):
    patch = mappings.get("hubspot", "deals").to_patch(record("hubspot", "deals", {
        "id": "9", "properties": {"dealname": "Big", "amount": "1200.50", "dealstage": "closedwon",
                                  "closedate": "2026-11-20T00:00:00Z"}}))
    assert patch.values == {"name": "Big", "amount": Decimal("1200.50"), "currency": "USD", "stage": "closed_won",
                            "close_date": datetime(2026, 11, 20).date()}
    contact = mappings.get("hubspot", "contacts").to_patch(record("hubspot", "contacts", {
        "id": "1", "properties": {"email": "a@b.io", "favourite_colour": "teal", "lastmodifieddate": "x"}}))
    assert contact.values == {"email": "a@b.io", "custom.favourite_colour": "teal"}


def test_write_back_payload_reverses_the_rules(mappings):
    mapper = mappings.get("salesforce", "Opportunity")
    payload = mapper.to_payload({"name": "Big", "amount": Decimal("10.5"), "stage": "qualification",
                                 "company_id": "c1", "custom.Region__c": "EU"},
                                resolve_ref=lambda obj, cid: f"001{cid}" if obj == "Account" else None)
    assert payload == {"Name": "Big", "Amount": Decimal("10.5"), "StageName": "Qualification",
                       "AccountId": "001c1", "Region__c": "EU"}
    hubspot = mappings.get("hubspot", "contacts").to_payload({"email": "a@b.io", "tags": ["a", "b"]})
    assert hubspot == {"properties": {"email": "a@b.io", "crm_tags": "a;b"}}


def test_bad_value_fails_only_that_record_naming_the_field(mappings):
    mapper = mappings.get("zoho", "Deals")
    with pytest.raises(MappingError, match=r"Deals.Amount: 'lots' is not a number"):
        mapper.to_patch(record("zoho", "Deals", {"id": "1", "Amount": "lots"}))
