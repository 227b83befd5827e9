"""Salesforce, HubSpot and Zoho converge through backfill, the scheduler and webhooks, as `crmsync serve`
runs them: the same people everywhere, and an edit in any one system reaching the other two."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hubspot_sandbox_support import EMULATOR_OPTIONS, HubSpotPortalAdmin
from runs_support import connection_config, hubspot_connection
from sandbox_support import SalesforceOrgAdmin

from crmsync.config.settings import Settings
from crmsync.receiver.server import BackgroundServer, Receiver
from crmsync.sandbox import SandboxRunner
from crmsync.store import db
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace

pytest_plugins = ["zoho_sandbox_support"]
FAST = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "max_attempts": 4}


@pytest.fixture(scope="module")
def systems() -> Iterator[tuple[SalesforceOrgAdmin, HubSpotPortalAdmin, Any]]:
    from zoho_sandbox_support import ZohoSandbox

    with SandboxRunner(["salesforce", "hubspot", "zoho"], options={"hubspot": EMULATOR_OPTIONS}) as runner:
        sessions = {vendor: endpoint.requests_session() for vendor, endpoint in runner.endpoints.items()}
        try:
            yield (SalesforceOrgAdmin(runner.endpoints["salesforce"], sessions["salesforce"]),
                   HubSpotPortalAdmin(runner.endpoints["hubspot"], sessions["hubspot"], runner),
                   ZohoSandbox(runner.endpoints["zoho"], sessions["zoho"]))
        finally:
            for session in sessions.values():
                session.close()
            gc.collect()


def eventually(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not converged: {what}"
        time.sleep(0.2)


def people(org: SalesforceOrgAdmin, portal: HubSpotPortalAdmin, zoho: Any) -> tuple[dict[str, Any], ...]:
    sf = {r["Email"].lower(): r["Title"] for r in org.records("Lead") if r.get("Email")}
    hs = {r["properties"]["email"]: r["properties"].get("jobtitle") for r in portal.admin("GET", "records/contacts")
          if r["properties"].get("email")}
    zo = {r["Email"].lower(): r.get("Designation") for r in zoho.records("Leads") if r.get("Email")}
    return sf, hs, zo


def test_three_crms_converge_through_backfill_schedule_and_webhooks(systems, tmp_path: Path) -> None:
    org, portal, zoho = systems
    for admin in (org, portal, zoho):
        admin.admin("POST", "reset")
    org.seed("Lead", 4)
    portal.seed("contacts", 4)
    zoho.seed("Leads", 4)
    shared = org.records("Lead")[0]
    portal.create("contacts", email=shared["Email"].lower(), firstname=shared["FirstName"],
                  lastname=shared["LastName"], company=shared["Company"], jobtitle="Cartographer")
    server = BackgroundServer(None)
    zoho_endpoint = zoho.endpoint
    settings = Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "outbox": {"interval_seconds": 0.3, "retry_initial_seconds": 0, "max_attempts": 3},
        "connections": [
            {**connection_config("sf", org, {"Lead": "both"}), "interval_seconds": 2},
            {**hubspot_connection(portal), "interval_seconds": 2},
            {"name": "zoho", "system": "zoho", "base_url": zoho_endpoint.credentials["accounts_url"],
             "ca_bundle": zoho_endpoint.ca_bundle, "objects": {"Leads": "both"}, "interval_seconds": 2,
             "jitter_seconds": 0, "options": {**FAST, "notify_url": f"{server.url}/webhooks/zoho"},
             "credentials": {**{k: zoho_endpoint.credentials[k] for k in ("client_id", "client_secret",
                                                                          "refresh_token")},
                             "notification_token": "zoho-channel-token"}},
        ],
    })
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    for name in ("sf", "hs", "zoho"):
        assert SyncRunner(workspace, name).backfill().status == "ok"
    receiver = Receiver(workspace, with_scheduler=True)
    server.app = receiver.app
    org.admin("POST", "listeners", json={"url": f"{server.url}/webhooks/sf", "object": "Lead",
                                         "fields": ["Email", "FirstName", "LastName", "Company", "Title",
                                                    "SystemModstamp"]})
    portal.admin("POST", "listeners", json={"url": f"{server.url}/webhooks/hs"})
    with server:
        receiver.start()
        try:
            # 4 + 4 + 4 people, one of them in Salesforce and HubSpot: 12 in each system.
            eventually(lambda: all(len(found) == 12 for found in people(org, portal, zoho))
                       and len({frozenset(found) for found in people(org, portal, zoho)}) == 1, "the same people")
            email = shared["Email"].lower()
            for system, edit in (("salesforce", lambda: org.update("Lead", shared["Id"], Title="Chief Surveyor")),
                                 ("hubspot", lambda: portal.update("contacts", hubspot_id(portal, email),
                                                                   jobtitle="Head of Charts")),
                                 ("zoho", lambda: zoho.update("Leads", zoho_id(zoho, email),
                                                              Designation="Keeper of Maps"))):
                for admin in (org, portal, zoho):
                    admin.advance(5)  # each edit is later than everything before it, in every system
                edit()
                title = {"salesforce": "Chief Surveyor", "hubspot": "Head of Charts", "zoho": "Keeper of Maps"}[system]
                eventually(lambda title=title: all(found[email] == title for found in people(org, portal, zoho)),
                           f"an edit in {system} reaching the other two")
        finally:
            receiver.stop()
    workspace.close()


def hubspot_id(portal: HubSpotPortalAdmin, email: str) -> str:
    return next(str(r["id"]) for r in portal.admin("GET", "records/contacts") if r["properties"].get("email") == email)


def zoho_id(zoho: Any, email: str) -> str:
    return next(str(r["id"]) for r in zoho.records("Leads") if (r.get("Email") or "").lower() == email)
