"""The `day` transform and the call mappings it serves: what a canonical call writes to each CRM, and that
reading the written payload back gives the same canonical values (what echo suppression compares)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from crmsync.errors import RecordMappingError
from crmsync.mappings.loader import MappingSet, load_mappings
from crmsync.mappings.transforms import build_transform
from crmsync.sync_engine.records import SourceRecord

START = datetime(2024, 5, 1, 23, 30, tzinfo=UTC)  # already 2 May in UTC+2, still 1 May in Los Angeles
CALL: dict[str, Any] = {
    "kind": "call", "subject": "Outbound Call", "direction": "outbound", "from_number": "+18005550199",
    "to_number": "+12125550123", "started_at": START, "duration_s": 31, "disposition": "No Answer",
    "agent": "rroe@acme.example", "campaign": "Renewals Outbound", "notes": "left no message",
    "lead_id": "lead-1", "custom.five9_agent_name": "Richard Roe",
}
EXTERNAL_IDS = {"Lead": "00Q000000000001AAA", "contacts": "901", "Contacts": "5001"}


@pytest.fixture(scope="module")
def mappings() -> MappingSet:
    return load_mappings()


def test_day_writes_the_calendar_day_of_a_timestamp_in_its_time_zone() -> None:
    utc = build_transform("day", None)
    los_angeles = build_transform({"day": {"time_zone": "America/Los_Angeles"}}, None)
    assert utc.reverse is not None and los_angeles.reverse is not None
    assert utc.reverse(START, {}) == "2024-05-01"
    assert utc.reverse("2024-05-02T01:00:00+02:00", {}) == "2024-05-01"  # ISO text and other offsets too
    assert build_transform({"day": {"time_zone": "Europe/Berlin"}}, None).reverse(START, {}) == "2024-05-02"
    assert los_angeles.reverse(datetime(2024, 5, 2, 3, tzinfo=UTC), {}) == "2024-05-01"


def test_day_reads_a_date_as_its_midnight_and_refuses_what_is_not_one() -> None:
    assert build_transform("day", None).forward("2024-05-01", {}) == datetime(2024, 5, 1, tzinfo=UTC)
    assert build_transform({"day": {"time_zone": "America/Los_Angeles"}}, None).forward(date(2024, 5, 1), {}) == (
        datetime(2024, 5, 1, 7, tzinfo=UTC))
    with pytest.raises(RecordMappingError, match="not an ISO date"):
        build_transform("day", None).forward("yesterday", {})
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        build_transform({"day": {"time_zone": "Mars/Olympus"}}, None)
    with pytest.raises(ValueError, match="zone: Extra inputs are not permitted"):
        build_transform({"day": {"zone": "UTC"}}, None)


def _round_trip(mappings: MappingSet, system: str, object_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(payload written for CALL, canonical values and refs that payload reads back as)."""
    mapper = mappings.get(system, object_name)
    payload = mapper.to_payload(CALL, lambda obj, _cid: EXTERNAL_IDS.get(obj))  # None: the target lacks that ref
    patch = mapper.to_patch(SourceRecord(system, object_name, "x1", START, payload))
    read = {**patch.values, **{name: ref.external_id for name, ref in patch.refs.items()}}
    return payload, read


def _written_back(mappings: MappingSet, system: str, object_name: str, values: dict[str, Any]) -> dict[str, Any]:
    mapper = mappings.get(system, object_name)
    return {name: value for name, value in values.items() if mapper.writes_back(name)}


def test_a_call_becomes_a_completed_call_task_with_the_five9_fields(mappings: MappingSet) -> None:
    payload, read = _round_trip(mappings, "salesforce", "Task")
    assert payload == {
        "TaskSubtype": "Call", "Type": "Call", "Status": "Completed", "Subject": "Outbound Call",
        "ActivityDate": "2024-05-01", "CallType": "Outbound", "CallDurationInSeconds": 31,
        "CallDisposition": "No Answer", "Description": "left no message", "WhoId": EXTERNAL_IDS["Lead"],
        "Five9__Five9ANI__c": "+18005550199",
        "Five9__Five9DNIS__c": "+12125550123", "Five9__Five9Campaign__c": "Renewals Outbound",
        "Five9__Five9Agent__c": "rroe@acme.example", "Five9__Five9AgentName__c": "Richard Roe"}
    # The Task keeps no start time (ActivityDate is a day): everything else reads back as written.
    assert read == {**{k: v for k, v in CALL.items() if k != "started_at"}, "lead_id": EXTERNAL_IDS["Lead"]}


def test_a_call_becomes_a_hubspot_call_engagement_on_its_contact(mappings: MappingSet) -> None:
    payload, read = _round_trip(mappings, "hubspot", "calls")
    assert payload["properties"] == {
        "hs_call_status": "COMPLETED", "hs_call_title": "Outbound Call", "hs_call_direction": "OUTBOUND",
        "hs_call_from_number": "+18005550199", "hs_call_to_number": "+12125550123",
        "hs_timestamp": "2024-05-01T23:30:00Z", "hs_call_duration": 31000,
        "hs_call_disposition": "73a0d17f-1163-4015-bdd5-ec830791da20", "hs_call_body": "left no message"}
    assert payload["associations"] == {"contacts": {"0": EXTERNAL_IDS["contacts"]}}
    assert read == {**_written_back(mappings, "hubspot", "calls", CALL), "kind": "call",
                    "lead_id": EXTERNAL_IDS["contacts"]}


def test_a_disposition_hubspot_has_no_default_outcome_for_travels_as_it_is(mappings: MappingSet) -> None:
    mapper = mappings.get("hubspot", "calls")
    assert mapper.to_payload({"disposition": "Sold"}, only=["disposition"])["properties"] == {
        "hs_call_disposition": "Sold"}
    record = SourceRecord("hubspot", "calls", "1", START,
                          {"properties": {"hs_call_disposition": "b2cf5968-551e-4856-9783-52b3da59a7d0"}})
    assert mapper.to_patch(record).values["disposition"] == "Left Voicemail"


def test_a_call_becomes_a_zoho_call_on_its_contact(mappings: MappingSet) -> None:
    payload, read = _round_trip(mappings, "zoho", "Calls")
    assert payload == {
        "Subject": "Outbound Call", "Call_Type": "Outbound", "Call_Start_Time": "2024-05-01T23:30:00Z",
        "Call_Duration_in_seconds": 31, "Call_Duration": "00:31", "Call_Result": "No Answer",
        "Description": "left no message",
        "Who_Id": {"id": EXTERNAL_IDS["Contacts"]}}
    assert read == {**_written_back(mappings, "zoho", "Calls", CALL), "kind": "call",
                    "lead_id": EXTERNAL_IDS["Contacts"]}
