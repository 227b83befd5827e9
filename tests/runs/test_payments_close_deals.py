"""A Stripe and a Razorpay payment land on the right canonical lead and deal, and close that deal in
Salesforce, HubSpot and Zoho through write-back; a refund changes the payment only."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubspot_sandbox_support import EMULATOR_OPTIONS, HubSpotPortalAdmin
from runs_support import connection_config, hubspot_connection
from sandbox_support import SalesforceOrgAdmin
from sqlalchemy import select

from crmsync.config.settings import Settings
from crmsync.sandbox import SandboxEndpoint, SandboxRunner
from crmsync.store import db
from crmsync.store.models import Deal, Lead, Payment
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

pytest_plugins = ["zoho_sandbox_support"]
FAST = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "max_attempts": 4}


@pytest.fixture(scope="module")
def boxes() -> Iterator[dict[str, Any]]:
    from zoho_sandbox_support import ZohoSandbox

    vendors = ["salesforce", "hubspot", "zoho", "stripe", "razorpay"]
    with SandboxRunner(vendors, options={"hubspot": EMULATOR_OPTIONS}) as runner:
        sessions = {vendor: endpoint.requests_session() for vendor, endpoint in runner.endpoints.items()}
        try:
            yield {"sf": SalesforceOrgAdmin(runner.endpoints["salesforce"], sessions["salesforce"]),
                   "hs": HubSpotPortalAdmin(runner.endpoints["hubspot"], sessions["hubspot"], runner),
                   "zoho": ZohoSandbox(runner.endpoints["zoho"], sessions["zoho"]),
                   "stripe": runner.endpoints["stripe"], "razorpay": runner.endpoints["razorpay"]}
        finally:
            for session in sessions.values():
                session.close()
            gc.collect()


def admin(endpoint: SandboxEndpoint, method: str, path: str, body: Any = None) -> Any:
    with endpoint.requests_session() as http:
        response = http.request(method, f"{endpoint.base_url}/__sandbox/{path}", json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def stages(boxes: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Deal name → stage, per CRM."""
    return {
        "sf": {r["Name"]: r["StageName"] for r in boxes["sf"].records("Opportunity")},
        "hs": {r["properties"]["dealname"]: r["properties"]["dealstage"] for r in boxes["hs"].admin("GET",
                                                                                                    "records/deals")},
        "zoho": {r["Deal_Name"]: r["Stage"] for r in boxes["zoho"].records("Deals")},
    }


def test_payments_close_their_deals_in_every_crm(boxes, tmp_path: Path) -> None:
    org, portal, zoho, stripe, razorpay = (boxes[k] for k in ("sf", "hs", "zoho", "stripe", "razorpay"))
    for system in (org, portal, zoho):
        system.admin("POST", "reset")
    for endpoint in (stripe, razorpay):
        admin(endpoint, "POST", "reset")
    org.create("Lead", FirstName="Ada", LastName="Lovelace", Company="Analytical", Email="ada@analytical.example")
    org.create("Lead", FirstName="Ravi", LastName="Kumar", Company="Kora", Email="ravi@kora.example")
    ada_deal = org.create("Opportunity", Name="Ada engines", StageName="Prospecting", CloseDate="2026-12-31",
                          Amount=1200)
    org.create("Opportunity", Name="Ravi licences", StageName="Prospecting", CloseDate="2026-12-31", Amount=800)
    zoho_endpoint = zoho.endpoint
    settings = Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "outbox": {"retry_initial_seconds": 0, "max_attempts": 2},
        "connections": [
            connection_config("sf", org, {"Lead": "both", "Opportunity": "both"}),
            hubspot_connection(portal, objects={"contacts": "both", "deals": "both"}),
            {"name": "zoho", "system": "zoho", "base_url": zoho_endpoint.credentials["accounts_url"],
             "ca_bundle": zoho_endpoint.ca_bundle, "objects": {"Leads": "both", "Deals": "both"}, "options": FAST,
             "credentials": {k: zoho_endpoint.credentials[k] for k in ("client_id", "client_secret", "refresh_token")}},
            {"name": "stripe", "system": "stripe", "base_url": stripe.base_url, "ca_bundle": stripe.ca_bundle,
             "objects": {"customers": "pull", "payment_intents": "pull"},
             "credentials": {"api_key": stripe.credentials["api_key"]}},
            {"name": "razorpay", "system": "razorpay", "base_url": razorpay.base_url, "ca_bundle": razorpay.ca_bundle,
             "objects": {"customers": "pull", "payments": "pull"},
             "credentials": {k: razorpay.credentials[k] for k in ("key_id", "key_secret")}},
        ],
    })
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    try:
        assert SyncRunner(workspace, "sf").backfill().status == "ok"
        pushed = OutboxDrainer(workspace).drain()
        assert not any(c.get("dead") for c in pushed.values()), pushed
        assert stages(boxes) == {"sf": {"Ada engines": "Prospecting", "Ravi licences": "Prospecting"},
                                 "hs": {"Ada engines": "appointmentscheduled", "Ravi licences": "appointmentscheduled"},
                                 "zoho": {"Ada engines": "Qualification", "Ravi licences": "Qualification"}}
        ravi_hubspot_deal = next(str(r["id"]) for r in portal.admin("GET", "records/deals")
                                 if r["properties"]["dealname"] == "Ravi licences")

        # A minute later, Ada pays by Stripe, naming the Salesforce Opportunity; Ravi by Razorpay, naming the
        # HubSpot deal. (Paid before the deal's last change, a payment would not override that change.)
        for endpoint in (stripe, razorpay):
            admin(endpoint, "POST", "clock/advance", {"seconds": 60})
        customer = admin(stripe, "POST", "records/customers", {"email": "ada@analytical.example", "name": "Ada L"})
        intent = admin(stripe, "POST", "records/payment_intents", {
            "amount": 120000, "currency": "usd", "customer": customer["id"], "payment_method": "pm_card_visa",
            "confirm": True, "metadata": {"deal_id": ada_deal}})
        admin(razorpay, "POST", "records/payments", {"amount": 80000, "currency": "INR", "status": "captured",
                                                     "email": "ravi@kora.example",
                                                     "notes": {"deal_id": ravi_hubspot_deal}})
        won = 0
        for name in ("stripe", "razorpay"):
            summary = SyncRunner(workspace, name).backfill()
            assert summary.status == "ok", summary.error
            won += summary.totals()["deals_won"]
        assert won == 2
        pushed = OutboxDrainer(workspace).drain()
        assert not any(c.get("dead") for c in pushed.values()), pushed
        assert stages(boxes) == {"sf": {"Ada engines": "Closed Won", "Ravi licences": "Closed Won"},
                                 "hs": {"Ada engines": "closedwon", "Ravi licences": "closedwon"},
                                 "zoho": {"Ada engines": "Closed Won", "Ravi licences": "Closed Won"}}
        with engine.connect() as conn:
            payments = {row.provider: row for row in conn.execute(select(Payment))}
            leads = dict(conn.execute(select(Lead.email, Lead.id)).all())
            deals = dict(conn.execute(select(Deal.name, Deal.id)).all())
        assert (payments["stripe"].lead_id, payments["stripe"].deal_id) == (leads["ada@analytical.example"],
                                                                            deals["Ada engines"])
        assert (payments["razorpay"].lead_id, payments["razorpay"].deal_id) == (leads["ravi@kora.example"],
                                                                                deals["Ravi licences"])
        assert payments["stripe"].amount == 1200 and payments["razorpay"].amount == 800

        # A refund (a while later: Stripe's times are whole seconds) changes the payment, not the deal.
        admin(stripe, "POST", "clock/advance", {"seconds": 30})
        admin(stripe, "POST", "records/refunds", {"payment_intent": intent["id"]})
        assert SyncRunner(workspace, "stripe").incremental().status == "ok"
        OutboxDrainer(workspace).drain()
        with engine.connect() as conn:
            assert conn.execute(select(Payment.status).where(Payment.provider == "stripe")).scalar() == "refunded"
        assert stages(boxes)["sf"]["Ada engines"] == "Closed Won"
    finally:
        workspace.close()
