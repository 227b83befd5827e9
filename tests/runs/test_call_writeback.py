"""Calls from the Five9 sandbox reach Salesforce (Task), HubSpot (call engagement) and Zoho (Call) exactly once,
on the right person, whether the web connector, the Call Log report or both deliver them; reading the CRMs
back afterwards changes nothing (our own writes are recognised as echoes)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hubspot_sandbox_support import EMULATOR_OPTIONS, HubSpotPortalAdmin
from runs_support import connection_config
from sandbox_support import SalesforceOrgAdmin
from sqlalchemy import select

from crmsync.config.settings import Settings
from crmsync.connectors.base import WriteItem
from crmsync.connectors.five9 import Five9Connector
from crmsync.sandbox import SandboxRunner
from crmsync.store import db
from crmsync.store.models import Activity, Lead, OutboxItem
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

if TYPE_CHECKING:
    from five9_sandbox_support import Five9Sandbox, WebListener
    from zoho_sandbox_support import ZohoSandbox

# Their helpers, and the `listener` fixture (a loopback server taking the web connectors' GET and POST requests).
pytest_plugins = ["five9_sandbox_support", "zoho_sandbox_support"]  # imported by pytest so asserts are rewritten
TIME_ZONE = "America/Los_Angeles"
DAY = datetime(2024, 5, 1, tzinfo=UTC)
FIVE9_OPTIONS = {"time_zone": TIME_ZONE, "settle_seconds": 0, "poll_interval_seconds": 0, "poll_timeout_seconds": 0,
                 "retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "timeout_seconds": 10}
RETRIES = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "max_attempts": 3}
# The people the calls are with, as Salesforce Leads (crmsync copies them to HubSpot and Zoho).
ADA = {"FirstName": "Ada", "LastName": "Lovelace", "Company": "Analytical", "Email": "ada@analytical.example",
       "Phone": "(415) 555-0101"}
GRACE = {"FirstName": "Grace", "LastName": "Hopper", "Company": "Cobol Co", "Email": "grace@cobol.example",
         "Phone": "(212) 555-0123"}
AGENT_NAMES = {"jdoe@acme.example": "Jane Doe", "rroe@acme.example": "Richard Roe"}
# Calls by their (unique) disposition, with the person each one is with.
CALLS: dict[str, dict[str, Any]] = {
    "Sold": {"direction": "inbound", "ani": "4155550101", "duration": 125, "start": "2024-05-01T17:00:00Z",
             "campaign": "Sales Inbound", "agent": "jdoe@acme.example", "recorded": True, "person": ADA},
    "No Answer": {"call_type": "Preview", "dnis": "2125550123", "duration": 31, "start": "2024-05-01T23:30:00Z",
                  "campaign": "Renewals Outbound", "agent": "rroe@acme.example", "person": GRACE},
    "Call Back": {"call_type": "Manual", "dnis": "(415) 555-0101", "duration": 42, "start": "2024-05-01T20:00:00Z",
                  "campaign": "Renewals Outbound", "agent": "rroe@acme.example", "person": ADA},
}
OUTCOMES = {"73a0d17f-1163-4015-bdd5-ec830791da20": "No Answer"}  # HubSpot's default outcome GUIDs we expect


@dataclass
class Sandboxes:
    org: SalesforceOrgAdmin
    portal: HubSpotPortalAdmin
    zoho: ZohoSandbox
    five9: Five9Sandbox
    web_connector_secret: str  # the constant the sandbox's web connectors send

    def reset(self) -> None:
        for admin in (self.org, self.portal, self.zoho, self.five9):
            admin.admin("POST", "reset")


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[Sandboxes]:
    # Imported here, once pytest has loaded them as plugins: an earlier import would skip assert rewriting.
    from five9_sandbox_support import SECRET, Five9Sandbox
    from zoho_sandbox_support import ZohoSandbox

    options = {"hubspot": EMULATOR_OPTIONS, "zoho": {"concurrency_limit": 10}, "five9": {"time_zone": TIME_ZONE}}
    with SandboxRunner(["salesforce", "hubspot", "zoho", "five9"], options=options) as runner:
        endpoints = runner.endpoints
        sessions = {vendor: endpoint.requests_session() for vendor, endpoint in endpoints.items()}
        try:
            yield Sandboxes(SalesforceOrgAdmin(endpoints["salesforce"], sessions["salesforce"]),
                            HubSpotPortalAdmin(endpoints["hubspot"], sessions["hubspot"], runner),
                            ZohoSandbox(endpoints["zoho"], sessions["zoho"]),
                            Five9Sandbox(endpoints["five9"], sessions["five9"]), SECRET)
        finally:
            for session in sessions.values():
                session.close()
            gc.collect()  # responses pinned by tracebacks keep sockets open past the emulators' shutdown


def settings_for(boxes: Sandboxes, tmp_path: Path, zoho_people: str = "Contacts") -> Settings:
    portal, zoho, five9 = boxes.portal, boxes.zoho.endpoint, boxes.five9.endpoint
    return Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "outbox": {"retry_initial_seconds": 0, "retry_max_seconds": 0, "max_attempts": 2},
        "connections": [
            connection_config("sf", boxes.org, {"Lead": "both", "Task": "both"}),
            {"name": "hs", "system": "hubspot", "base_url": portal.base_url, "ca_bundle": portal.endpoint.ca_bundle,
             "credentials": {"access_token": portal.token}, "objects": {"contacts": "both", "calls": "both"},
             "options": RETRIES},
            # Zoho relates a call to a Contact through Who_Id, to a Lead through What_Id + `$se_module: Leads`.
            # The main test uses Contacts: read back, Zoho Leads carry their Zoho owner, which merges as news.
            {"name": "zoho", "system": "zoho", "base_url": zoho.credentials["accounts_url"],
             "ca_bundle": zoho.ca_bundle, "objects": {zoho_people: "both", "Calls": "both"}, "options": RETRIES,
             "credentials": {key: zoho.credentials[key] for key in ("client_id", "client_secret", "refresh_token")}},
            {"name": "five9", "system": "five9", "base_url": five9.base_url, "ca_bundle": five9.ca_bundle,
             "objects": {"calls": "pull"}, "options": FIVE9_OPTIONS,
             "credentials": {"username": five9.credentials["username"], "password": five9.credentials["password"],
                             "web_connector_secret": boxes.web_connector_secret}},
        ],
    })


@pytest.fixture
def workspace(sandboxes: Sandboxes, tmp_path: Path) -> Iterator[Workspace]:
    sandboxes.reset()
    settings = settings_for(sandboxes, tmp_path)
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    space = Workspace(settings, engine, token_store=NoTokenStore())
    yield space
    space.close()
    engine.dispose()


def drain(workspace: Workspace) -> dict[str, dict[str, int]]:
    pushed = {target: dict(counts) for target, counts in OutboxDrainer(workspace).drain().items()}
    assert not any(counts.get("dead") or counts.get("failed") for counts in pushed.values()), (
        pushed, [(row.target, row.last_error) for row in outbox_rows(workspace)])
    return pushed


def outbox_rows(workspace: Workspace) -> list[Any]:
    with workspace.engine.connect() as conn:
        return list(conn.execute(select(OutboxItem.__table__)))  # type: ignore[attr-defined]


def ingest_web_connector(workspace: Workspace, listener: WebListener) -> dict[str, int]:
    """Every request the emulator delivered, as crmsync's receiver would ingest it (one page per request)."""
    connector = workspace.connector("five9")
    assert isinstance(connector, Five9Connector)
    counts: dict[str, int] = {}
    for request in listener.requests:
        records = connector.web_connector_records(request.method, request.query, request.form)
        result = workspace.ingestor("five9", "web").ingest_page(records, "web")
        for key, value in result.counts.items():
            counts[key] = counts.get(key, 0) + value
    return counts


def canonical(workspace: Workspace) -> tuple[dict[str, str], list[Any]]:
    """lead id by phone, and every activity."""
    with workspace.engine.connect() as conn:
        leads = {row.phone: row.id for row in conn.execute(select(Lead.id, Lead.phone))}
        activities = list(conn.execute(select(Activity.id, Activity.lead_id, Activity.started_at)))
    return leads, activities


def tasks(org: SalesforceOrgAdmin) -> list[dict[str, Any]]:
    return org.records("Task")


def hubspot_calls(portal: HubSpotPortalAdmin) -> list[dict[str, Any]]:
    return list(portal.admin("GET", "records/calls"))


def hubspot_contact_of(portal: HubSpotPortalAdmin, call_id: str) -> list[str]:
    answer = portal.api("GET", f"/crm/v4/objects/calls/{call_id}/associations/contacts")
    assert answer.status_code == 200, answer.text
    return [str(link["toObjectId"]) for link in answer.json()["results"]]


def assert_salesforce_tasks(org: SalesforceOrgAdmin, people: dict[str, str]) -> None:
    """One completed call Task per call, on the caller's Lead, with the Five9 adapter's fields."""
    by_disposition = {task["CallDisposition"]: task for task in tasks(org)}
    assert len(tasks(org)) == 3 and set(by_disposition) == set(CALLS)
    for disposition, task in by_disposition.items():
        call = CALLS[disposition]
        assert task["WhoId"] == people[call["person"]["Email"]], disposition
        assert (task["TaskSubtype"], task["Type"], task["Status"]) == ("Call", "Call", "Completed")
        assert (task["ActivityDate"], task["CallDurationInSeconds"]) == ("2024-05-01", call["duration"])
        assert task["Five9__Five9Campaign__c"] == call["campaign"] and task["Five9__Five9Agent__c"] == call["agent"]
    sold = by_disposition["Sold"]
    assert (sold["Subject"], sold["CallType"], sold["Five9__Five9AgentName__c"]) == ("Inbound Call", "Inbound",
                                                                                     "Jane Doe")
    assert (sold["Five9__Five9ANI__c"], sold["Five9__Five9DNIS__c"]) == ("+14155550101", "+18005550199")
    assert (by_disposition["No Answer"]["Subject"], by_disposition["No Answer"]["CallType"]) == (
        "Outbound Call", "Outbound")


def assert_hubspot_calls(portal: HubSpotPortalAdmin, recording_url: str) -> None:
    """One call engagement per call, associated to the contact with the caller's e-mail."""
    contacts = {r["properties"]["email"]: r["id"] for r in portal.admin("GET", "records/contacts")}
    by_disposition = {OUTCOMES.get(c["properties"]["hs_call_disposition"], c["properties"]["hs_call_disposition"]): c
                      for c in hubspot_calls(portal)}
    assert len(hubspot_calls(portal)) == 3 and set(by_disposition) == set(CALLS)
    for disposition, engagement in by_disposition.items():
        call, props = CALLS[disposition], engagement["properties"]
        assert hubspot_contact_of(portal, engagement["id"]) == [contacts[call["person"]["Email"]]], disposition
        assert (props["hs_call_status"], props["hs_call_duration"]) == ("COMPLETED", str(call["duration"] * 1000))
        assert props["hs_timestamp"] == call["start"].replace("Z", ".000Z")
    sold = by_disposition["Sold"]["properties"]
    assert (sold["hs_call_title"], sold["hs_call_direction"], sold["hs_call_from_number"]) == (
        "Inbound Call", "INBOUND", "+14155550101")
    assert sold["hs_call_recording_url"] == recording_url  # from the report, pushed as an update


def assert_zoho_calls(zoho: ZohoSandbox) -> None:
    """One Call per call, on the Contact with the caller's e-mail."""
    people = {r["Email"]: r["id"] for r in zoho.records("Contacts")}
    by_disposition = {call["Call_Result"]: call for call in zoho.records("Calls")}
    assert len(zoho.records("Calls")) == 3 and set(by_disposition) == set(CALLS)
    for disposition, record in by_disposition.items():
        call = CALLS[disposition]
        assert record["Who_Id"]["id"] == people[call["person"]["Email"]], disposition
        assert record["Call_Duration_in_seconds"] == call["duration"]
    assert (by_disposition["Sold"]["Call_Type"], by_disposition["No Answer"]["Call_Type"]) == ("Inbound", "Outbound")


def place(five9: Five9Sandbox, disposition: str) -> dict[str, Any]:
    call = CALLS[disposition]
    fields = {key: value for key, value in call.items() if key != "person"}
    return five9.place_call(disposition=disposition, agent_name=AGENT_NAMES[call["agent"]], **fields)


def test_calls_reach_each_crm_once_on_the_right_person(sandboxes: Sandboxes, workspace: Workspace,
                                                       listener: WebListener) -> None:
    org, portal, zoho, five9 = sandboxes.org, sandboxes.portal, sandboxes.zoho, sandboxes.five9
    people = {person["Email"]: org.create("Lead", **person) for person in (ADA, GRACE)}
    assert SyncRunner(workspace, "sf").backfill().status == "ok"
    drain(workspace)  # the people reach HubSpot (contacts) and Zoho (Contacts)

    place(five9, "Call Back")  # before any web connector: only the report will tell us about it
    # Two web connectors (POST with a duplicate delivery; GET with epoch times and HH:MM:SS durations).
    five9.web_connector(listener.url, duplicates=1)
    five9.web_connector(listener.url, name="as-get", method="GET", timestamp_format="epoch_ms", duration_format="hms")
    sold, _ = place(five9, "Sold"), place(five9, "No Answer")
    assert len(listener.requests) == 6
    live = ingest_web_connector(workspace, listener)
    assert live["created"] == 2, live  # two activities; the callers matched the leads by phone
    assert drain(workspace) == {target: {"pushed": 2} for target in ("sf", "hs", "zoho")}

    backfill = SyncRunner(workspace, "five9").backfill(since=DAY, until=DAY + timedelta(days=1))
    assert backfill.status == "ok", backfill.error
    # The report creates the call only it knows and updates one more: it has the recording URL the web
    # connector did not send, which only HubSpot keeps (so only HubSpot is queued for it). The third call it
    # reports is unchanged.
    assert (backfill.totals()["created"], backfill.totals()["updated"]) == (1, 1), dict(backfill.totals())
    assert drain(workspace) == {"hs": {"pushed": 2}, "sf": {"pushed": 1}, "zoho": {"pushed": 1}}

    leads, activities = canonical(workspace)
    assert len(leads) == 2 and len(activities) == 3
    assert sorted(a.lead_id for a in activities) == sorted([leads["+14155550101"]] * 2 + [leads["+12125550123"]])
    assert_salesforce_tasks(org, people)
    assert_hubspot_calls(portal, sold["recording_url"])
    assert_zoho_calls(zoho)

    # Reading every CRM back finds only our own writes: nothing changes, nothing is queued, nothing is created.
    for name, stream in (("sf", "Task"), ("hs", "calls"), ("zoho", "Calls")):
        summary = SyncRunner(workspace, name).incremental()
        assert summary.status == "ok", summary.error
        totals = summary.totals()
        assert totals["created"] == totals["updated"] == 0 and totals["read"] == totals["unchanged"], (name, totals)
        assert summary.streams[stream]["read"] == 3, (name, summary.streams)
    assert outbox_rows(workspace) == [] and not any(drain(workspace).values())
    assert (len(tasks(org)), len(hubspot_calls(portal)), len(zoho.records("Calls"))) == (3, 3, 3)
    assert [len(found) for found in canonical(workspace)] == [2, 3]


def test_a_replayed_call_push_updates_the_task_it_created(sandboxes: Sandboxes, workspace: Workspace) -> None:
    """A push whose result was lost (a crash before the external id was stored) is sent again as an upsert on the
    canonical id; it lands on the Task the first push created, whose create-only TaskSubtype cannot be set again."""
    payload = workspace.mappings_for("sf").get("salesforce", "Task").to_payload(
        {"kind": "call", "subject": "Inbound Call", "direction": "inbound", "duration_s": 60,
         "started_at": datetime(2024, 5, 1, 17, tzinfo=UTC), "from_number": "+14155550101"})
    assert payload["TaskSubtype"] == "Call" and payload["ActivityDate"] == "2024-05-01"
    connector = workspace.connector("sf")
    (first,) = connector.write("Task", [WriteItem("act-1", payload)])
    (replayed,) = connector.write("Task", [WriteItem("act-1", {**payload, "CallDurationInSeconds": 61})])
    assert first.ok and first.created and replayed.ok and not replayed.created, (first, replayed)
    assert replayed.external_id == first.external_id
    (task,) = sandboxes.org.records("Task")
    assert (task["TaskSubtype"], task["CallDurationInSeconds"]) == ("Call", 61)


def test_a_call_on_a_zoho_lead_relates_through_what_id_and_reads_back_as_an_echo(
        sandboxes: Sandboxes, tmp_path: Path, listener: WebListener) -> None:
    """With people in Zoho as Leads, the call goes out as What_Id + `$se_module: Leads` and, read back, is
    recognised as our own write."""
    org, zoho, five9 = sandboxes.org, sandboxes.zoho, sandboxes.five9
    sandboxes.reset()
    settings = settings_for(sandboxes, tmp_path, zoho_people="Leads")
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    space = Workspace(settings, engine, token_store=NoTokenStore())
    try:
        org.create("Lead", **ADA)
        assert SyncRunner(space, "sf").backfill().status == "ok"
        drain(space)
        five9.web_connector(listener.url)
        place(five9, "Sold")
        assert ingest_web_connector(space, listener)["created"] == 1
        assert drain(space) == {target: {"pushed": 1} for target in ("sf", "hs", "zoho")}
        (lead,), (call,) = zoho.records("Leads"), zoho.records("Calls")
        assert (call["What_Id"]["id"], call["$se_module"], call["Who_Id"]) == (lead["id"], "Leads", None)
        summary = SyncRunner(space, "zoho").incremental()
        assert summary.status == "ok", summary.error
        assert (summary.streams["Calls"]["read"], summary.streams["Calls"]["unchanged"]) == (1, 1), summary.streams
        assert len(zoho.records("Calls")) == 1
    finally:
        space.close()
        engine.dispose()
