"""Five9 web-connector requests, as the emulator sends them, parsed by the connector's pure parser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from crmsync.connectors.five9 import WebConnectorRejected, lead_phone, parse_web_connector
from crmsync.mappings.loader import load_mappings

if TYPE_CHECKING:
    from five9_sandbox_support import Five9Sandbox, ReceivedRequest, WebListener

    from crmsync.connectors.five9 import Five9Connector

pytest_plugins = ["five9_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten

SECRET = "s3cr3t-web-connector-token"
LA = "America/Los_Angeles"


def _parse(request: ReceivedRequest, **kwargs: object):  # type: ignore[no-untyped-def]
    return parse_web_connector(request.method, request.query, request.form, SECRET, time_zone=LA, **kwargs)


def test_post_and_get_deliveries_parse_to_the_same_call(five9: Five9Sandbox, listener: WebListener) -> None:
    five9.web_connector(listener.url)  # POST form, text timestamps, millisecond durations
    five9.web_connector(listener.url, name="as-get", method="GET", timestamp_format="epoch_ms", duration_format="hms")
    call = five9.place_call(ani="(415) 555-0123", disposition="Sold", duration=125.7, start="2024-07-01T17:00:00.250Z",
                            agent="jdoe@acme.example", agent_name="Jane Doe", campaign="Sales Inbound")
    assert len(listener.requests) == 2
    post, get = (_parse(request) for request in listener.requests)
    assert {listener.requests[0].method, listener.requests[1].method} == {"GET", "POST"}
    assert post.external_id == get.external_id == call["call_id"]
    def without_details(payload):  # type: ignore[no-untyped-def]  # raw values, in each connector's format
        return {key: value for key, value in payload.items() if key != "details"}

    assert without_details(post.payload) == without_details(get.payload) and post.modified_at == get.modified_at
    payload = post.payload
    assert payload["started_at"] == "2024-07-01T17:00:00Z"  # whole seconds, like the report
    assert payload["duration_s"] == 125 and payload["call_type"] == "Inbound" and payload["disposition"] == "Sold"
    assert payload["person_phone"] == "+14155550123" and payload["agent"] == "jdoe@acme.example"
    assert post.modified_at == datetime(2024, 7, 1, 17, 2, 5, tzinfo=UTC)  # the end of the call
    assert "crmsync_token" not in str(payload)


def test_a_bad_or_missing_secret_is_rejected_without_echoing_it(five9: Five9Sandbox, listener: WebListener) -> None:
    five9.web_connector(listener.url, constants={"crmsync_token": "guessed-wrong"})
    five9.place_call(disposition="Sold")
    (request,) = listener.requests
    with pytest.raises(WebConnectorRejected) as wrong:
        _parse(request)
    assert "does not match" in str(wrong.value) and "guessed" not in str(wrong.value) and SECRET not in str(wrong.value)
    with pytest.raises(WebConnectorRejected, match="is missing"):
        parse_web_connector("POST", {}, {"call.call_id": "1"}, SECRET)
    with pytest.raises(WebConnectorRejected, match="no web_connector_secret"):
        parse_web_connector("POST", {}, {"crmsync_token": ""}, "")
    with pytest.raises(WebConnectorRejected, match="call_id"):
        parse_web_connector("GET", {"crmsync_token": SECRET}, {}, SECRET)


@pytest.mark.parametrize(("start", "length", "expected_start", "expected_seconds"), [
    ("1720544400000", "90500", "2024-07-09T17:00:00Z", 90),  # epoch ms, ms
    ("1720544400", "00:01:30", "2024-07-09T17:00:00Z", 90),  # epoch s, HH:MM:SS
    ("2024-03-10 01:59:59.999", "1:00:00", "2024-03-10T09:59:59Z", 3600),  # PST, just before spring forward
    ("2024-03-10 03:00:01.000", "100:00:00", "2024-03-10T10:00:01Z", 360_000),  # PDT, two seconds later
    ("2024-11-03 01:30:00.000", "0", "2024-11-03T08:30:00Z", 0),  # the repeated hour: the first (PDT) one
    ("2024-11-03T01:30:00-08:00", "5", "2024-11-03T09:30:00Z", 0),  # an explicit offset settles it
    ("Sun, 03 Nov 2024 03:00:00", "61000", "2024-11-03T11:00:00Z", 61),  # report-style text, PST
])
def test_odd_value_formats_are_understood(start: str, length: str, expected_start: str,
                                          expected_seconds: int) -> None:
    form = {"crmsync_token": SECRET, "call.call_id": "300000000000042", "call.start_timestamp": start,
            "call.length": length, "call.type_name": "Outbound", "call.dnis": "2125550123"}
    record = parse_web_connector("POST", {}, form, SECRET, time_zone=LA)
    assert record.payload["started_at"] == expected_start and record.payload["duration_s"] == expected_seconds


def test_unknown_variables_become_custom_fields_and_bad_values_fail_only_that_record() -> None:
    mapper = load_mappings().get("five9", "calls")
    form = {"crmsync_token": SECRET, "call.call_id": "7", "Customer.first_name": "Ada", "CRM.Lead Score": "42",
            "call.skill_name": "Sales", "call.start_timestamp": "not a time", "call.ani": "4155550123",
            "call.type_name": "Inbound"}
    record = parse_web_connector("POST", {}, form, SECRET, time_zone=LA)
    assert record.payload["extras"] == {"customer_first_name": "Ada", "crm_lead_score": "42"}
    assert record.payload["details"] == {"call.skill_name": "Sales"}  # known to Five9, not mapped
    with pytest.raises(Exception, match="not a time"):
        mapper.to_patch(record)
    fine = parse_web_connector("POST", {}, {**form, "call.start_timestamp": "1720544400000"}, SECRET)
    values = mapper.to_patch(fine).values
    assert values["custom.customer_first_name"] == "Ada" and values["custom.crm_lead_score"] == "42"
    assert values["direction"] == "inbound" and values["from_number"] == "+14155550123"
    assert "custom.call_skill_name" not in values


def test_lead_phone_is_the_ani_inbound_and_the_dnis_outbound(
        make_five9_connector: Callable[..., Five9Connector]) -> None:
    def call(call_type: str, **extra: str):  # type: ignore[no-untyped-def]
        form = {"crmsync_token": SECRET, "call.call_id": "9", "call.ani": "8005550199", "call.dnis": "2125550123",
                "call.type_name": call_type, **extra}
        return parse_web_connector("POST", {}, form, SECRET)

    assert lead_phone(call("Inbound")) == "+18005550199"
    assert lead_phone(call("Autodial")) == lead_phone(call("Manual")) == "+12125550123"
    assert lead_phone(call("Transfer")) is None  # unknown direction: no person to match
    connector = make_five9_connector()
    form = {"crmsync_token": SECRET, "call.call_id": "10", "call.ani": "4155550123", "call.type_name": "Inbound"}
    person, record = connector.web_connector_records("POST", {}, form)
    assert (person.object, person.external_id, dict(person.payload)) == ("contacts", "+14155550123",
                                                                        {"phone": "+14155550123"})
    assert record.object == "calls" and connector.lead_phone(record) == "+14155550123"
    quiet = make_five9_connector(link_callers=False)
    assert [r.object for r in quiet.web_connector_records("POST", {}, form)] == ["calls"]
