"""What the built-in mappings write: required fields with reasons a user can act on, constants that mark a logged
call, placeholders, stage buckets, per-system owners kept out of every write, and the echo of each push."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crmsync.errors import RecordNotWritable
from crmsync.mappings.loader import MappingSet
from crmsync.mappings.mapper import ObjectMapper
from crmsync.sync_engine.records import SourceRecord

WHEN = datetime(2024, 5, 1, 17, tzinfo=UTC)
CALL = {"kind": "call", "subject": "Inbound Call", "direction": "inbound", "started_at": WHEN, "duration_s": 125,
        "lead_id": "lead-1", "disposition": "Sold"}
PEOPLE = {"Lead": "00Q000000000001AAA", "contacts": "901", "Contacts": "5001"}


def resolve(obj: str, _canonical_id: str) -> str | None:
    return PEOPLE.get(obj)


def values_of(mapper: ObjectMapper, payload: dict[str, Any]) -> dict[str, Any]:
    return mapper.to_patch(SourceRecord(mapper.system, mapper.object, "1", WHEN, payload)).values


def test_the_builtin_writing_rules_with_value_maps_are_the_ones_expected(mappings: MappingSet) -> None:
    mapped = {f"{system}.{name}.{rule.sources[0]}" for system in mappings.systems()
              for name in mappings.objects(system) for rule in mappings.get(system, name)._out
              if any(t.name == "map" for t in rule.chain)}
    assert mapped == {
        "salesforce.Lead.Status", "salesforce.Account.Industry", "salesforce.Opportunity.StageName",
        "salesforce.Task.CallType", "hubspot.contacts.properties.lifecyclestage",
        "hubspot.contacts.properties.hs_lead_status", "hubspot.companies.properties.industry",
        "hubspot.deals.properties.dealstage", "hubspot.calls.properties.hs_call_direction",
        "hubspot.calls.properties.hs_call_disposition", "zoho.Leads.Lead_Status", "zoho.Accounts.Industry",
        "zoho.Deals.Stage", "zoho.Calls.Call_Type"}


def test_a_required_field_left_out_or_not_resolved_says_why(mappings: MappingSet) -> None:
    opportunity = mappings.get("salesforce", "Opportunity")
    with pytest.raises(RecordNotWritable, match=r"^Salesforce Opportunity needs StageName; this deal has "
                                                r"stage='someday', which Salesforce Opportunity does not take$"):
        opportunity.to_payload({"name": "Big", "stage": "someday", "close_date": WHEN.date()}, creating=True)
    task = mappings.get("salesforce", "Task")
    with pytest.raises(RecordNotWritable, match=r"^Salesforce Task needs WhoId; this activity has lead_id 'lead-1', "
                                                r"which is not in Salesforce yet$"):
        task.to_payload({"subject": "Call", "lead_id": "lead-1"}, lambda _obj, _cid: None, creating=True)
    calls = mappings.get("zoho", "Calls")
    with pytest.raises(RecordNotWritable, match=r"^Zoho Calls needs Call_Type and Who_Id.id or What_Id.id; this "
                                                r"activity has direction='internal', which Zoho Calls does not take; "
                                                r"has no lead_id$"):
        calls.to_payload({"subject": "Call", "direction": "internal", "started_at": WHEN, "duration_s": 5},
                         creating=True)
    with pytest.raises(RecordNotWritable, match=r"^HubSpot calls needs properties.hs_timestamp; this activity has "
                                                r"no started_at$"):
        mappings.get("hubspot", "calls").to_payload({"subject": "Call", "lead_id": "l"}, resolve, creating=True)


@pytest.mark.parametrize(("system", "obj", "required"), [
    ("salesforce", "Lead", [("LastName",), ("Company",)]), ("salesforce", "Contact", [("LastName",)]),
    ("salesforce", "Account", [("Name",)]), ("salesforce", "Opportunity", [("Name",), ("StageName",), ("CloseDate",)]),
    ("salesforce", "Task", [("WhoId",)]),
    ("hubspot", "deals", [("properties.dealname",), ("properties.dealstage",)]),
    ("hubspot", "calls", [("properties.hs_timestamp",), ("associations.contacts.0",)]),
    ("zoho", "Leads", [("Last_Name",)]), ("zoho", "Contacts", [("Last_Name",)]),
    ("zoho", "Accounts", [("Account_Name",)]), ("zoho", "Deals", [("Deal_Name",), ("Stage",)]),
    ("zoho", "Calls", [("Subject",), ("Call_Type",), ("Call_Start_Time",), ("Call_Duration",),
                       ("Who_Id.id", "What_Id.id")]),
])
def test_each_builtin_object_lists_what_its_vendor_requires(mappings: MappingSet, system: str, obj: str,
                                                            required: list[tuple[str, ...]]) -> None:
    assert list(mappings.get(system, obj).required.entries) == required


def test_a_logged_call_is_marked_by_constants_and_reads_back_as_its_own_echo(mappings: MappingSet) -> None:
    for system, obj, extra in (("salesforce", "Task", {"Id": "00T1", "OwnerId": "005x", "IsDeleted": False}),
                               ("hubspot", "calls", {"id": "7", "properties": {"hubspot_owner_id": "12"}}),
                               ("zoho", "Calls", {"id": "9", "Owner": {"id": "1"}})):
        mapper = mappings.get(system, obj)
        pushed = mapper.to_payload(CALL, resolve, creating=True)
        stored = {**pushed, **extra}
        if system == "hubspot":
            stored["properties"] = {**pushed["properties"], **extra["properties"]}
        hashes = [mapper.to_patch(SourceRecord(system, obj, "1", WHEN, p)).echo_hash() for p in (pushed, stored)]
        assert hashes[0] == hashes[1], system
        assert mapper.writes_back("kind") and values_of(mapper, stored)["kind"] == "call"
    task = mappings.get("salesforce", "Task").to_payload(CALL, resolve)
    assert (task["TaskSubtype"], task["Type"], task["Status"]) == ("Call", "Call", "Completed")
    # An update carries only what changed: TaskSubtype can be set only when the Task is created.
    assert mappings.get("salesforce", "Task").to_payload(CALL, resolve, only=["subject"]) == {"Subject": "Inbound Call"}


def test_zoho_calls_carry_their_duration_as_clock_text(mappings: MappingSet) -> None:
    payload = mappings.get("zoho", "Calls").to_payload(CALL, resolve, creating=True)
    assert (payload["Call_Duration"], payload["Call_Duration_in_seconds"]) == ("02:05", 125)
    assert values_of(mappings.get("zoho", "Calls"), {"Call_Duration_in_seconds": 125})["duration_s"] == 125


def test_per_system_rules_stay_out_of_the_write_checks(mappings: MappingSet) -> None:
    for system in ("salesforce", "hubspot", "zoho"):
        for name in mappings.objects(system):
            mapper = mappings.get(system, name)
            assert not mapper.writes_back("owners")
            assert "owners" not in {t for rule in mapper._out for t in rule.targets}


def test_zoho_deal_stages_keep_their_bucket_by_probability(mappings: MappingSet) -> None:
    deals = mappings.get("zoho", "Deals")
    assert values_of(deals, {"Stage": "Qualification"})["stage"] == "prospecting"
    assert values_of(deals, {"Stage": "Needs Analysis"})["stage"] == "qualification"
    assert deals.to_payload({"stage": "qualification"}, only=["stage"]) == {"Stage": "Needs Analysis"}


def test_only_five9_callers_are_link_only(mappings: MappingSet) -> None:
    link_only = {(s, o) for s in mappings.systems() for o in mappings.objects(s) if mappings.get(s, o).link_only}
    assert link_only == {("five9", "contacts")}
