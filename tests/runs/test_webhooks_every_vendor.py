"""Zoho, Stripe, Razorpay and Five9 push to `crmsync serve`: each request verified its vendor's way, stored
once, processed through the one ingest path; forged requests are refused and stored nowhere."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from crmsync.config.settings import Settings
from crmsync.receiver.processor import wait_until_empty
from crmsync.receiver.server import BackgroundServer, Receiver
from crmsync.sandbox import SandboxEndpoint, SandboxRunner
from crmsync.store import db
from crmsync.store.models import Activity, InboxEvent, Lead, Payment
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.workspace import Workspace

VENDORS = ["zoho", "stripe", "razorpay", "five9"]
STRIPE_SECRET, RAZORPAY_SECRET, FIVE9_SECRET, ZOHO_TOKEN = "whsec_crmsync_test", "rzp_whsec", "f9-secret", "zt-1"
FAST = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005}


@pytest.fixture(scope="module")
def endpoints() -> Iterator[dict[str, SandboxEndpoint]]:
    with SandboxRunner(VENDORS) as runner:
        yield dict(runner.endpoints)
        gc.collect()


def admin(endpoint: SandboxEndpoint, method: str, path: str, body: Any = None) -> Any:
    with endpoint.requests_session() as http:
        response = http.request(method, f"{endpoint.base_url}/__sandbox/{path}", json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


@pytest.fixture
def served(endpoints: dict[str, SandboxEndpoint], tmp_path: Path) -> Iterator[tuple[Receiver, str]]:
    for endpoint in endpoints.values():
        admin(endpoint, "POST", "reset")
    server = BackgroundServer(None)  # bound now, so Zoho can be told where to post before the app exists
    zoho, stripe, razorpay, five9 = (endpoints[name] for name in VENDORS)
    settings = Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "connections": [
            {"name": "zoho", "system": "zoho", "base_url": zoho.credentials["accounts_url"],
             "ca_bundle": zoho.ca_bundle, "objects": {"Leads": "pull"},
             "options": {**FAST, "notify_url": f"{server.url}/webhooks/zoho"},
             "credentials": {**{k: zoho.credentials[k] for k in ("client_id", "client_secret", "refresh_token")},
                             "notification_token": ZOHO_TOKEN}},
            {"name": "stripe", "system": "stripe", "base_url": stripe.base_url, "ca_bundle": stripe.ca_bundle,
             "objects": {"customers": "pull"},
             "credentials": {"api_key": stripe.credentials["api_key"], "webhook_secret": STRIPE_SECRET}},
            {"name": "razorpay", "system": "razorpay", "base_url": razorpay.base_url, "ca_bundle": razorpay.ca_bundle,
             "objects": {"customers": "pull", "payments": "pull"},
             "credentials": {**{k: razorpay.credentials[k] for k in ("key_id", "key_secret")},
                             "webhook_secret": RAZORPAY_SECRET}},
            {"name": "five9", "system": "five9", "base_url": five9.base_url, "ca_bundle": five9.ca_bundle,
             "objects": {"calls": "pull"},
             "credentials": {**{k: five9.credentials[k] for k in ("username", "password")},
                             "web_connector_secret": FIVE9_SECRET}},
        ],
    })
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    receiver = Receiver(workspace, with_scheduler=False)
    server.app = receiver.app
    with server:
        receiver.start()  # subscribes the Zoho watch channel
        try:
            yield receiver, server.url
        finally:
            receiver.stop()
    workspace.close()


def count(receiver: Receiver, model: type, *where: Any) -> int:
    with receiver.workspace.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar() or 0)


def settle(receiver: Receiver, connection: str, events: int) -> None:
    deadline = time.monotonic() + 15
    while count(receiver, InboxEvent, InboxEvent.connection == connection) < events:
        assert time.monotonic() < deadline, f"{connection}: expected {events} inbox event(s)"
        time.sleep(0.05)
    assert wait_until_empty(receiver.processor, 15)
    assert count(receiver, InboxEvent, InboxEvent.status != "done") == 0


def test_each_vendor_pushes_and_the_change_lands(served, endpoints) -> None:
    receiver, url = served
    zoho, stripe, razorpay, five9 = (endpoints[name] for name in VENDORS)

    admin(zoho, "POST", "records/Leads", {"Last_Name": "Okafor", "First_Name": "Chi", "Company": "Kora",
                                          "Email": "chi@kora.example"})
    settle(receiver, "zoho", 1)
    assert count(receiver, Lead, Lead.email == "chi@kora.example") == 1

    admin(stripe, "POST", "listeners", {"url": f"{url}/webhooks/stripe", "secret": STRIPE_SECRET})
    admin(stripe, "POST", "records/customers", {"email": "ana@pay.example", "name": "Ana Pay"})
    settle(receiver, "stripe", 1)
    assert count(receiver, Lead, Lead.email == "ana@pay.example") == 1

    admin(razorpay, "POST", "listeners", {"url": f"{url}/webhooks/razorpay", "secret": RAZORPAY_SECRET,
                                          "duplicates": 1})
    admin(razorpay, "POST", "records/payments", {"amount": 50000, "currency": "INR", "status": "captured",
                                                 "email": "ravi@rzp.example", "contact": "+919812345678"})
    settle(receiver, "razorpay", 2)  # authorized + captured, each delivered twice, each stored once
    assert count(receiver, Payment) == 1

    admin(five9, "POST", "five9/web-connectors", {"url": f"{url}/webhooks/five9",
                                                  "constants": {"crmsync_token": FIVE9_SECRET}, "duplicates": 1})
    admin(five9, "POST", "calls", {"wait": True, "direction": "inbound", "ani": "4155550101", "duration": 61,
                                   "campaign": "Support", "agent": "jdoe@acme.example", "disposition": "Resolved"})
    deliveries = admin(five9, "GET", "five9/deliveries")
    assert len(deliveries) == 2 and all(d["delivered"] for d in deliveries)
    settle(receiver, "five9", 1)  # the dispositioned call, delivered twice, stored once
    assert count(receiver, Activity) == 1


@pytest.mark.parametrize("connection", VENDORS)
def test_forged_requests_are_refused_and_not_stored(served, connection: str) -> None:
    receiver, url = served
    forged = {"zoho": {"json": {"token": "guess", "channel_id": "1000000068001", "module": "Leads", "ids": ["1"],
                                "operation": "insert", "server_time": 1}},
              "stripe": {"data": b'{"id": "evt_1"}', "headers": {"Stripe-Signature": "t=1,v1=00"}},
              "razorpay": {"data": b'{"event": "payment.captured"}',
                           "headers": {"X-Razorpay-Signature": "00", "X-Razorpay-Event-Id": "e1"}},
              "five9": {"data": {"call_id": "1", "crmsync_token": "guess"}}}[connection]
    assert requests.post(f"{url}/webhooks/{connection}", **forged).status_code == 401
    assert count(receiver, InboxEvent) == 0
