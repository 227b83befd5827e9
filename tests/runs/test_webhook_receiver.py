"""The webhook receiver over HTTP: verify on the raw body, store in the inbox, answer; process afterwards."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot_sandbox_support import HubSpotPortalAdmin, hubspot_emulator, portal
from runs_support import ReceiverServer, connection_config, hubspot_connection
from sqlalchemy import func, select

from crmsync.config.settings import Settings
from crmsync.receiver.processor import wait_until_empty
from crmsync.receiver.server import Receiver
from crmsync.store import db
from crmsync.store.models import InboxEvent, Lead
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

__all__ = ["hubspot_emulator", "portal"]


@pytest.fixture
def served(orgs, portal: HubSpotPortalAdmin, tmp_path: Path) -> Iterator[tuple[Receiver, ReceiverServer]]:
    org, _ = orgs
    settings = Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "connections": [connection_config("sf-a", org, {"Lead": "both"}), hubspot_connection(portal)],
        "server": {"max_body_bytes": 4096},
    })
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    receiver = Receiver(workspace, with_scheduler=False)
    with ReceiverServer(receiver.app) as server:
        yield receiver, server
    workspace.close()


def signed(portal: HubSpotPortalAdmin, url: str, events: list[dict[str, Any]], age_s: float = 0,
           secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    timestamp = str(int((time.time() - age_s) * 1000))
    key = (secret or portal.endpoint.credentials["client_secret"]).encode()
    signature = base64.b64encode(hmac.new(key, b"POST" + url.encode() + body + timestamp.encode(),
                                          hashlib.sha256).digest()).decode()
    return body, {"Content-Type": "application/json", "X-HubSpot-Signature-v3": signature,
                  "X-HubSpot-Request-Timestamp": timestamp}


def title_change(event_id: int, contact_id: str, title: str, at_ms: int) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 1, "portalId": 62515, "appId": 1, "occurredAt": at_ms,
            "subscriptionType": "contact.propertyChange", "attemptNumber": 0, "objectId": int(contact_id),
            "changeSource": "CRM_UI", "propertyName": "jobtitle", "propertyValue": title}


def inbox_count(receiver: Receiver) -> int:
    with receiver.workspace.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(InboxEvent)).scalar() or 0)


def test_a_signed_batch_is_stored_once_and_bad_requests_are_refused(served, portal) -> None:
    receiver, server = served
    url = f"{server.url}/webhooks/hs"
    events = [title_change(1, "901", "Navigator", 1_700_000_000_000),
              title_change(2, "901", "Pilot", 1_700_000_001_000)]
    body, headers = signed(portal, url, events)
    assert requests.post(url, data=body, headers=headers).status_code == 204
    assert requests.post(url, data=body, headers=headers).status_code == 204  # a redelivery: answered, ignored
    assert inbox_count(receiver) == 2

    tampered = body.replace(b"Pilot", b"Pirat")
    assert requests.post(url, data=tampered, headers=headers).status_code == 401
    stale_body, stale = signed(portal, url, [title_change(3, "901", "X", 1)], age_s=600)
    assert requests.post(url, data=stale_body, headers=stale).status_code == 401
    wrong_body, wrong = signed(portal, url, [title_change(4, "901", "X", 1)], secret="not-the-secret")
    assert requests.post(url, data=wrong_body, headers=wrong).status_code == 401
    other_uri_body, other_uri = signed(portal, f"{server.url}/webhooks/elsewhere", [title_change(5, "901", "X", 1)])
    assert requests.post(url, data=other_uri_body, headers=other_uri).status_code == 401
    assert requests.post(url, data=b"[]").status_code == 401  # unsigned
    garbage_headers = signed_raw(portal, url, b"{not json")
    assert requests.post(url, data=b"{not json", headers=garbage_headers).status_code == 400
    big = [title_change(10 + i, "901", "x" * 50, 1) for i in range(100)]
    big_body, big_headers = signed(portal, url, big)
    assert requests.post(url, data=big_body, headers=big_headers).status_code == 413
    assert requests.post(f"{server.url}/webhooks/nobody", data=body, headers=headers).status_code == 404
    assert inbox_count(receiver) == 2  # nothing refused was stored

    health = requests.get(f"{server.url}/healthz")
    assert health.status_code == 200 and "database: ok" in health.text
    metrics = requests.get(f"{server.url}/metrics").text
    assert 'crmsync_webhook_events_received_total{connection="hs"} 2.0' in metrics
    assert 'crmsync_webhook_events_duplicate_total{connection="hs"} 2.0' in metrics
    assert 'crmsync_webhook_requests_rejected_total{connection="hs",status="401"} 5.0' in metrics
    assert 'crmsync_inbox_events{connection="hs",status="pending"} 2.0' in metrics


def signed_raw(portal: HubSpotPortalAdmin, url: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000))
    key = portal.endpoint.credentials["client_secret"].encode()
    signature = base64.b64encode(hmac.new(key, b"POST" + url.encode() + body + timestamp.encode(),
                                          hashlib.sha256).digest()).decode()
    return {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp}


def test_vendor_webhooks_change_the_other_system_through_write_back(served, orgs, portal) -> None:
    receiver, server = served
    org, _ = orgs
    org.admin("POST", "listeners", json={"url": f"{server.url}/webhooks/sf-a", "object": "Lead",
                                         "fields": ["Email", "FirstName", "LastName", "Company", "Title",
                                                    "SystemModstamp"]})
    portal.admin("POST", "listeners", json={"url": f"{server.url}/webhooks/hs"})

    # A lead created in Salesforce arrives as an Outbound Message, is Acked, and is pushed to HubSpot.
    org.create("Lead", Email="ines@example.com", FirstName="Ines", LastName="Prado", Company="Atlas", Title="CFO")
    assert wait_for(lambda: inbox_count(receiver) >= 1)
    assert wait_until_empty(receiver.processor, 10)
    OutboxDrainer(receiver.workspace).drain()
    contact = next(p for p in contacts(portal) if p["email"] == "ines@example.com")
    assert contact["jobtitle"] == "CFO"
    messages = org.admin("GET", "outbound")
    assert messages and all(m["acked"] for m in messages)  # Acked only once stored

    # An edit in HubSpot arrives as a signed batch and reaches Salesforce.
    portal.advance(5)
    portal.update("contacts", contact["hs_object_id"], jobtitle="Chief Financial Officer")
    assert wait_for(lambda: any(e.startswith("contact.propertyChange") for e in event_types(receiver)))
    assert wait_until_empty(receiver.processor, 10)
    OutboxDrainer(receiver.workspace).drain()
    [lead] = [r for r in org.records("Lead") if r["Email"] == "ines@example.com"]
    assert lead["Title"] == "Chief Financial Officer"
    assert all(d["delivered"] for d in portal.admin("GET", "webhooks"))

    # Our own writes come back as webhooks too (an Outbound Message from Salesforce, a batch from HubSpot):
    # they are stored and processed like any other, and change nothing.
    time.sleep(0.5)
    assert wait_until_empty(receiver.processor, 10)
    assert OutboxDrainer(receiver.workspace).drain() == {"hs": {}, "sf-a": {}}
    with receiver.workspace.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Lead)).scalar() == 1
        statuses = set(conn.execute(select(InboxEvent.status)).scalars())
    assert statuses == {"done"}


def contacts(portal: HubSpotPortalAdmin) -> list[dict[str, Any]]:
    return [r["properties"] for r in portal.admin("GET", "records/contacts")]


def event_types(receiver: Receiver) -> list[str]:
    with receiver.workspace.engine.connect() as conn:
        payloads = conn.execute(select(InboxEvent.payload)).scalars()
        return [str(payload.get("subscriptionType", "salesforce")) for payload in payloads]


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
