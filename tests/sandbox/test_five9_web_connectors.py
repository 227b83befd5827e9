"""The Five9 emulator's web connectors and generic admin API, over HTTPS, delivering to a loopback listener."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from five9_sandbox_support import Five9Sandbox, WebListener

pytest_plugins = ["five9_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten


def _first(values: dict[str, list[str]]) -> dict[str, str]:
    return {key: items[0] for key, items in values.items()}


def test_a_dispositioned_call_is_posted_as_a_form_with_the_variables_and_the_secret(
        five9: Five9Sandbox, listener: WebListener) -> None:
    five9.web_connector(listener.url)  # POST, OnCallDispositioned, default variables
    call = five9.place_call(ani="4155550123", disposition="Sold", duration=125, start="2024-07-01T17:00:00.250Z",
                            agent="jdoe@acme.example")
    assert [d["status"] for d in call["deliveries"]] == [200]
    (request,) = listener.requests
    assert request.method == "POST" and request.content_type.startswith("application/x-www-form-urlencoded")
    form = _first(request.form)
    assert form["crmsync_token"] == "s3cr3t-web-connector-token"
    assert form["call.call_id"] == call["call_id"] and form["call.ani"] == "4155550123"
    assert form["call.type_name"] == "Inbound" and form["call.disposition_name"] == "Sold"
    assert form["call.start_timestamp"] == "2024-07-01 10:00:00.250"  # PDT wall clock, milliseconds
    assert form["call.length"] == "125000" and form["agent.user_name"] == "jdoe@acme.example"


def test_get_connector_sends_a_query_string_in_the_chosen_formats(five9: Five9Sandbox, listener: WebListener) -> None:
    variables = {"id": "call.call_id", "len": "call.length", "start": "call.start_timestamp",
                 "disp": "call.disposition_name", "first": "Customer.first_name"}
    five9.web_connector(listener.url, method="GET", trigger="OnCallDisconnected", timestamp_format="epoch_ms",
                        duration_format="hms", variables=variables)
    five9.place_call(disposition="Sold", duration=3725, start="2024-07-01T17:00:00Z", customer_name="Ada Lovelace")
    (request,) = listener.requests
    query = _first(request.query)
    assert request.method == "GET" and not request.form
    assert query["start"] == str(int(datetime(2024, 7, 1, 17, tzinfo=UTC).timestamp() * 1000))
    assert query["len"] == "01:02:05" and query["first"] == "Ada"
    assert query["disp"] == ""  # at disconnect the agent has not dispositioned the call yet


def test_failed_deliveries_are_retried_and_duplicates_can_happen(five9: Five9Sandbox, listener: WebListener) -> None:
    listener.statuses = [500, 503]
    five9.web_connector(listener.url, retries=2, retry_delays_seconds=[0.01], duplicates=1)
    call = five9.place_call(disposition="Sold")
    deliveries = call["deliveries"]
    assert [(d["copy"], d["attempts"], d["status"]) for d in deliveries] == [(0, 3, 200), (1, 1, 200)]
    ids = {_first(r.form)["call.call_id"] for r in listener.requests}
    assert len(listener.requests) == 4 and ids == {call["call_id"]}
    assert all(d["delivered"] for d in five9.admin("GET", "five9/deliveries"))


def test_disposition_filter_and_a_later_disposition(five9: Five9Sandbox, listener: WebListener) -> None:
    five9.web_connector(listener.url, trigger_dispositions=["Sold"])
    five9.place_call(disposition="No Answer")
    assert listener.requests == []
    call = five9.place_call()  # no disposition yet: nothing fires until the agent sets one
    five9.admin("PATCH", f"records/calls/{call['call_id']}", json={"disposition": "Sold"})
    deadline = time.monotonic() + 5
    while not listener.requests and time.monotonic() < deadline:  # a later disposition fires in the background
        time.sleep(0.01)
    assert [_first(r.form)["call.disposition_name"] for r in listener.requests] == ["Sold"]


def test_listing_connectors_hides_constant_values(five9: Five9Sandbox, listener: WebListener) -> None:
    five9.web_connector(listener.url)
    (listed,) = five9.admin("GET", "listeners")
    assert listed["constants"] == ["crmsync_token"] and "s3cr3t" not in str(listed)
    answer = five9.http.post(f"{five9.base_url}/__sandbox/listeners", json={"url": listener.url, "method": "PUT"})
    assert answer.status_code == 400 and "method" in answer.json()["error"]


def test_generic_admin_seeds_lists_resets_and_the_clock_drives_call_times(five9: Five9Sandbox) -> None:
    five9.admin("POST", "clock/set", json={"now": "2024-03-10T12:00:00Z", "freeze": True})
    try:
        assert five9.admin("POST", "seed", json={"object": "calls", "count": 25, "seed": 3})["total"] == 25
        call = five9.admin("POST", "records/calls", json={"duration": 90, "direction": "outbound",
                                                          "dnis": "2125550199"})
        assert call["started_at"] == "2024-03-10T11:58:30.000+00:00" and call["call_type"] == "Outbound"
        calls = five9.admin("GET", "records/calls")
        assert len(calls) == 26 and all(c["started_at"] < "2024-03-10T12:00" for c in calls)
        five9.admin("DELETE", f"records/calls/{call['call_id']}")
        bad = five9.http.post(f"{five9.base_url}/__sandbox/calls", json={"directon": "inbound"})
        assert bad.status_code == 400 and "directon" in bad.json()["error"]
        five9.admin("POST", "reset")
        assert five9.admin("GET", "records/calls") == []
    finally:
        five9.admin("POST", "reset")  # also puts the clock back to real time
