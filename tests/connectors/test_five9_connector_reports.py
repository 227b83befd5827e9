"""Five9Connector backfill through the Call Log report (zeep over HTTPS): windows under the row cap, DST,
resumable cursors, faults, and the same call via web connector and report ending as one activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from crmsync.config.connections import ConnectionConfig
from crmsync.config.policy import MergePolicy
from crmsync.connectors.base import AuthenticationError, Capability, ConnectorError
from crmsync.connectors.registry import build_connector
from crmsync.mappings.loader import load_mappings
from crmsync.store import db
from crmsync.store.models import Activity, Lead
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.records import SourceRecord

if TYPE_CHECKING:
    from five9_sandbox_support import Five9Sandbox, WebListener

    from crmsync.connectors.five9 import Five9Connector

pytest_plugins = ["five9_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten

DAY = datetime(2024, 5, 1, tzinfo=UTC)


def _calls(pages: list) -> list:
    return [record for page in pages for record in page.records if record.object == "calls"]


def test_backfill_splits_windows_under_the_row_cap_and_resumes_from_any_page(
        five9: Five9Sandbox, make_five9_connector: Callable[..., Five9Connector]) -> None:
    five9.reporting(row_limit=10)
    for index in range(45):  # 45 calls over four hours, in pairs that share a second
        five9.place_call(start=(DAY + timedelta(seconds=index // 2 * 640)).isoformat(), disposition="Sold",
                         ani=f"41555501{index:02d}")
    connector = make_five9_connector(max_rows=10, window_hours=24, page_size=4, min_window_seconds=60)
    assert Capability.BACKFILL in connector.capabilities and connector.streams() == ("calls",)
    pages = list(connector.read("calls", None, since=DAY, until=DAY + timedelta(days=1)))
    calls = _calls(pages)
    assert len(calls) == 45 and len({c.external_id for c in calls}) == 45
    assert [c.payload["started_at"] for c in calls] == sorted(c.payload["started_at"] for c in calls)
    runs = five9.reporting()["runs"]
    assert any(run["rows"] > 10 for run in runs)  # the first, too-large windows were refused and split ...
    served = [run for run in runs if run["rows"] < 10]
    assert sum(run["rows"] for run in served) == 45  # ... and every call came from exactly one window under the cap
    assert pages[-1].cursor == {"through": (DAY + timedelta(days=1)).isoformat()}
    for index in (3, len(pages) // 2, len(pages) - 2):  # mid-window ("skip") and window-end cursors alike
        resumed = _calls(list(connector.read("calls", pages[index].cursor, since=DAY, until=DAY + timedelta(days=1))))
        assert [c.external_id for c in resumed] == [c.external_id for c in _calls(pages[index + 1:])]


def test_a_full_minute_over_the_cap_is_an_error_not_a_loop(
        five9: Five9Sandbox, make_five9_connector: Callable[..., Five9Connector]) -> None:
    five9.reporting(row_limit=2)
    for _ in range(3):
        five9.place_call(start=DAY.isoformat())
    connector = make_five9_connector(max_rows=2, min_window_seconds=60)
    with pytest.raises(ConnectorError, match="more than 2 calls started between"):
        list(connector.read("calls", None, since=DAY, until=DAY + timedelta(hours=1)))


def test_report_times_across_dst_changes_convert_to_the_right_utc_instants(
        five9: Five9Sandbox, make_five9_connector: Callable[..., Five9Connector]) -> None:
    moments = ["2024-03-10T09:59:30Z", "2024-03-10T10:00:30Z",  # 01:59:30 PST, 03:00:30 PDT (spring forward)
               "2024-11-03T08:30:00Z", "2024-11-03T09:30:00Z"]  # 01:30 PDT and 01:30 PST: the same wall time
    for moment in moments:
        five9.place_call(start=moment)
    connector = make_five9_connector(window_hours=24)
    spring = _calls(list(connector.read("calls", None, since=datetime(2024, 3, 9, tzinfo=UTC),
                                        until=datetime(2024, 3, 11, tzinfo=UTC))))
    autumn = _calls(list(connector.read("calls", None, since=datetime(2024, 11, 2, tzinfo=UTC),
                                        until=datetime(2024, 11, 4, tzinfo=UTC))))
    assert [c.payload["started_at"] for c in spring + autumn] == moments
    # Both 01:30 rows read "Sun, 03 Nov 2024 01:30:00": a window ends where clocks go back (09:00Z), so each
    # window holds one of the two instants. Criteria go out in the domain's zone, with its offset.
    runs = five9.reporting()["runs"]
    assert {"2024-11-03T01:00:00-08:00"} <= {r["end"] for r in runs} & {r["start"] for r in runs}


def test_the_same_call_via_web_connector_and_report_is_one_activity_on_one_lead(
        five9: Five9Sandbox, listener: WebListener, make_five9_connector: Callable[..., Five9Connector],
        tmp_path: Path) -> None:
    five9.web_connector(listener.url, timestamp_format="epoch_ms", duration_format="hms")
    call = five9.place_call(ani="4155550123", disposition="Sold", duration=125.7, start="2024-05-01T17:00:00.250Z",
                            campaign="Sales Inbound", agent="jdoe@acme.example", agent_name="Jane Doe")
    connector = make_five9_connector()
    (request,) = listener.requests
    live = connector.web_connector_records(request.method, request.query, request.form)
    report = [r for page in connector.read("calls", None, since=DAY, until=DAY + timedelta(days=1))
              for r in page.records]
    mappings = load_mappings()
    mapper = mappings.get("five9", "calls")
    (live_call,), (report_call,) = ([r for r in rs if r.object == "calls"] for rs in (live, report))
    assert live_call.external_id == report_call.external_id == call["call_id"]
    live_patch, report_patch = mapper.to_patch(live_call), mapper.to_patch(report_call)
    assert live_patch.values == report_patch.values and live_patch.refs == report_patch.refs
    assert live_patch.source_ts == report_patch.source_ts  # both: the end of the call
    assert report_patch.values == {
        "kind": "call", "direction": "inbound", "subject": "Inbound Call", "from_number": "+14155550123",
        "to_number": "+18005550199", "started_at": datetime(2024, 5, 1, 17, tzinfo=UTC), "duration_s": 125,
        "disposition": "Sold", "agent": "jdoe@acme.example", "custom.five9_agent_name": "Jane Doe",
        "campaign": "Sales Inbound"}

    engine = db.make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    db.upgrade(engine)
    try:
        ingestor = Ingestor(engine, mappings, MergePolicy())
        # The caller is a known lead (a caller no lead has is never made into one: Five9 `contacts` are link-only).
        known = SourceRecord("salesforce", "Lead", "00Q1", datetime(2024, 4, 1, tzinfo=UTC),
                             {"Id": "00Q1", "LastName": "Caller", "Phone": "(415) 555-0123"})
        ingestor.ingest_page([known], "run-0")
        first = ingestor.ingest_page(live, "run-1")
        second = ingestor.ingest_page(report, "run-2")
        assert first.counts["created"] == 1 and second.counts["created"] == 0
        with engine.connect() as conn:
            activities = conn.execute(select(Activity.id, Activity.lead_id, Activity.duration_s)).all()
            leads = conn.execute(select(Lead.id, Lead.phone)).all()
    finally:
        engine.dispose()
    assert len(activities) == 1 and len(leads) == 1
    assert activities[0].lead_id == leads[0].id and leads[0].phone == "+14155550123"


def test_recorded_calls_get_their_recording_url_from_the_report(
        five9: Five9Sandbox, make_five9_connector: Callable[..., Five9Connector]) -> None:
    call = five9.place_call(start="2024-05-01T10:00:00Z", recorded=True, call_type="Autodial", dnis="2125550123")
    (record,) = _calls(list(make_five9_connector().read("calls", None, since=DAY, until=DAY + timedelta(days=1))))
    values = load_mappings().get("five9", "calls").to_patch(record).values
    assert values["recording_url"] == call["recording_url"] and values["direction"] == "outbound"
    assert record.payload["person_phone"] == "+12125550123"


def test_faults_auth_and_transient_errors(five9: Five9Sandbox,
                                          make_five9_connector: Callable[..., Five9Connector]) -> None:
    window = {"since": DAY, "until": DAY + timedelta(hours=1)}
    with pytest.raises(AuthenticationError, match="check username and password") as refused:
        list(make_five9_connector(password="wrong-password").read("calls", None, **window))
    assert "wrong-password" not in str(refused.value)
    with pytest.raises(ConnectorError, match="ReportNotFoundFault"):
        list(make_five9_connector(report_name="Nope").read("calls", None, **window))
    five9.admin("POST", "faults", json={"kind": "server_error", "path": "/wsadmin/v12/AdminWebService", "count": 1})
    pages = list(make_five9_connector().read("calls", None, **window))  # retried once, then fine
    assert pages[-1].cursor["through"] == (DAY + timedelta(hours=1)).isoformat()
    with pytest.raises(ConnectorError, match="timezone-aware"):
        list(make_five9_connector().read("calls", None, since=datetime(2024, 5, 1)))


def test_a_crmsync_yaml_connection_builds_the_connector(five9: Five9Sandbox) -> None:
    credentials = five9.endpoint.credentials
    config = ConnectionConfig.model_validate({
        "name": "five9", "system": "five9", "base_url": five9.base_url, "ca_bundle": five9.endpoint.ca_bundle,
        "credentials": {"username": credentials["username"], "password": credentials["password"],
                        "web_connector_secret": "abc"},
        "objects": {"calls": "pull"}, "options": {"settle_seconds": 0, "poll_interval_seconds": 0}})
    connector = build_connector(config)
    try:
        five9.place_call()
        pages = list(connector.read("calls", None))  # incremental: the last week up to now
        assert len(_calls(pages)) == 1
        assert "abc" not in repr(connector.settings) and credentials["password"] not in repr(connector.settings)
    finally:
        connector.close()
