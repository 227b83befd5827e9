"""Issue 19: with every vendor connected, a quarter of write-back died at the vendors, and deals moved stage
in every CRM with no user edit. Each test here is one symptom, through the built-in mappings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crmsync.errors import RecordNotWritable
from crmsync.mappings.loader import MappingSet, check_mappings, load_mappings
from crmsync.sync_engine.records import SourceRecord

WHEN = datetime(2024, 5, 1, tzinfo=UTC)
HUBSPOT_CALL_DIRECTIONS = {"INBOUND", "OUTBOUND"}


@pytest.fixture(scope="module")
def mappings() -> MappingSet:
    return load_mappings()


def read(mappings: MappingSet, system: str, obj: str, payload: dict[str, Any]) -> dict[str, Any]:
    return mappings.get(system, obj).to_patch(SourceRecord(system, obj, "x1", WHEN, payload)).values


def test_a_zoho_deal_stage_reads_back_as_it_was_written(mappings: MappingSet) -> None:
    zoho = mappings.get("zoho", "Deals")
    for stage in ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"):
        payload = zoho.to_payload({"name": "Big", "stage": stage})
        assert read(mappings, "zoho", "Deals", payload)["stage"] == stage, payload


def test_a_drifting_value_map_is_refused_naming_file_object_field_and_value(tmp_path: Path) -> None:
    (tmp_path / "zoho.yaml").write_text("""
system: zoho
objects:
  Deals:
    entity: deal
    fields:
      - source: Stage
        target: stage
        transforms:
          - map:
              values: {Qualification: qualification, "Closed Won": closed_won}
              reverse: {prospecting: Qualification, qualification: Qualification, closed_won: "Closed Won"}
""")
    problems = [str(p) for p in check_mappings(tmp_path)]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{tmp_path / 'zoho.yaml'}: object Deals, field #1 (Stage): ")
    assert "'prospecting' is written as 'Qualification', which reads back as 'qualification'" in problems[0]


def test_a_salesforce_or_zoho_industry_never_reaches_hubspot_raw(mappings: MappingSet) -> None:
    canonical = read(mappings, "salesforce", "Account", {"Id": "001", "Name": "Bank", "Industry": "Banking"})
    properties = mappings.get("hubspot", "companies").to_payload(canonical)["properties"]
    assert properties.get("industry") in (None, "BANKING")
    zoho = read(mappings, "zoho", "Accounts", {"id": "1", "Account_Name": "Z", "Industry": "Large Enterprise"})
    assert "industry" not in mappings.get("hubspot", "companies").to_payload(zoho)["properties"]


def test_a_missed_call_is_sent_to_hubspot_without_a_direction_hubspot_lacks(mappings: MappingSet) -> None:
    canonical = read(mappings, "zoho", "Calls", {"id": "1", "Subject": "Call", "Call_Type": "Missed"})
    assert canonical["direction"] == "missed"
    properties = mappings.get("hubspot", "calls").to_payload(canonical)["properties"]
    assert properties.get("hs_call_direction", "INBOUND") in HUBSPOT_CALL_DIRECTIONS


def test_a_lead_without_a_company_gets_salesforce_placeholder_which_reads_back_empty(mappings: MappingSet) -> None:
    lead = mappings.get("salesforce", "Lead")
    payload = lead.to_payload({"email": "ada@example.com", "last_name": "Lovelace"}, creating=True)
    assert payload["Company"] == "[not provided]"
    assert "company_name" not in read(mappings, "salesforce", "Lead", {"Id": "00Q1", **payload})


def test_a_phone_only_caller_is_refused_up_front_for_salesforce_and_zoho(mappings: MappingSet) -> None:
    with pytest.raises(RecordNotWritable, match=r"Salesforce Lead needs LastName; this lead has no last_name"):
        mappings.get("salesforce", "Lead").to_payload({"phone": "+14155550101"}, creating=True)
    with pytest.raises(RecordNotWritable, match=r"Zoho Leads needs Last_Name"):
        mappings.get("zoho", "Leads").to_payload({"email": "ada@example.com"}, creating=True)


def test_unknown_five9_callers_only_link_to_known_leads(mappings: MappingSet) -> None:
    patch = mappings.get("five9", "contacts").to_patch(SourceRecord("five9", "contacts", "+14155550101", WHEN,
                                                                    {"phone": "+14155550101"}))
    assert patch.link_only
    assert not mappings.get("salesforce", "Lead").to_patch(
        SourceRecord("salesforce", "Lead", "00Q1", WHEN, {"Email": "a@b.io"})).link_only
