"""The demo's revenue steps: Ada pays by Stripe and wins her deal in every CRM; Ada calls the contact center and
the call appears on her, once, in every CRM."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from crmsync.demo.orgs import SYSTEMS, DemoSystems
from crmsync.errors import CrmsyncError
from crmsync.store.models import Deal, Lead, Payment
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

EMAIL = "ada@analytical.io"
DEAL = "Analytical Engines upgrade"  # a Salesforce Opportunity in data/salesforce.json
LABELS = {"salesforce": "Salesforce", "hubspot": "HubSpot", "zoho": "Zoho"}
WON = {"salesforce": "Closed Won", "hubspot": "closedwon", "zoho": "Closed Won"}
# Ada's phone in the bundled records, as Five9 reports a caller's number (ANI: ten digits, no country code).
ADA_ANI = "4155550101"
WAIT_SECONDS = 15

PrintPush = Callable[[Console, dict[str, Any]], None]


def show_payment(console: Console, systems: DemoSystems, workspace: Workspace, print_push: PrintPush) -> None:
    """A Stripe payment naming the Salesforce Opportunity links to Ada and the deal, and wins it everywhere."""
    before = {name: systems.deal_stage(name, DEAL) for name in SYSTEMS}
    opportunity = next(r["Id"] for r in systems.admin("salesforce", "GET", "records/Opportunity") if r["Name"] == DEAL)
    customer = systems.admin("stripe", "POST", "records/customers", {"email": EMAIL, "name": "Ada Lovelace"})
    systems.admin("stripe", "POST", "records/payment_intents", {
        "amount": 1_200_000, "currency": "usd", "customer": customer["id"], "payment_method": "pm_card_visa",
        "confirm": True, "metadata": {"deal_id": opportunity}})
    console.print(f"Ada pays $12,000.00 by Stripe; the payment's metadata names the Opportunity ({opportunity}).",
                  highlight=False)
    summary = SyncRunner(workspace, "stripe").backfill()
    if summary.status != "ok":
        raise CrmsyncError(f"the demo's Stripe backfill failed: {summary.error}")
    console.print(f"Stripe backfill: {_payment_line(workspace)}; deals won: {summary.totals()['deals_won']}.",
                  highlight=False)
    print_push(console, OutboxDrainer(workspace).drain())
    after = {name: systems.deal_stage(name, DEAL) for name in SYSTEMS}
    table = Table("CRM", "stage before", "stage after", title=f"'{DEAL}' after the payment")
    for name in SYSTEMS:
        table.add_row(LABELS[name], str(before[name]), str(after[name]))
    console.print(table)
    if after != WON:
        raise CrmsyncError(f"the payment did not win the deal everywhere: {after}; see `crmsync outbox list`")
    console.print("The deal is won in all three CRMs: " + ", ".join(
        f"{LABELS[name]} {after[name]!r}" for name in SYSTEMS) + ".\n", highlight=False)


def _payment_line(workspace: Workspace) -> str:
    """The stored Stripe payment and what it was linked to."""
    with workspace.engine.connect() as conn:
        payment = conn.execute(select(Payment.amount, Payment.currency, Payment.status, Payment.lead_id,
                                      Payment.deal_id).where(Payment.provider == "stripe")).first()
        if payment is None:
            raise CrmsyncError("the demo's Stripe backfill stored no payment")
        lead = conn.execute(select(Lead.first_name, Lead.last_name).where(Lead.id == payment.lead_id)).first()
        deal = conn.execute(select(Deal.name).where(Deal.id == payment.deal_id)).scalar()
    person = " ".join(p for p in (lead or ()) if p) or "no lead"
    return f"{payment.amount} {payment.currency} {payment.status}, linked to {person} and {deal or 'no deal'!r}"


def show_call(console: Console, systems: DemoSystems, workspace: Workspace, receiver_url: str) -> None:
    """A Five9 web connector posts Ada's call to the receiver; write-back logs it on her in every CRM."""
    url = f"{receiver_url}/webhooks/five9"
    # As a Five9 admin configures it: the URL, and the shared secret as a constant parameter.
    systems.admin("five9", "POST", "five9/web-connectors", {
        "url": url, "constants": {"crmsync_token": systems.web_connector_secret}})
    started = time.monotonic()
    call = systems.admin("five9", "POST", "calls", {
        "wait": True, "direction": "inbound", "ani": ADA_ANI, "duration": 125, "campaign": "Sales Inbound",
        "agent": "jdoe@acme.example", "agent_name": "Jane Doe", "disposition": "Sold"})
    refused = [d for d in call["deliveries"] if not (isinstance(d["status"], int) and 200 <= d["status"] < 300)]
    if refused:
        raise CrmsyncError(f"the receiver did not take Five9's web connector: {refused}")
    console.print(f"Ada calls the contact center from +1 415 555 0101; Jane Doe marks it 'Sold'.\n"
                  f"Five9's web connector posts call {call['call_id']} to crmsync's receiver (/webhooks/five9).",
                  highlight=False)
    found: dict[str, list[tuple[str, str]]] = {}
    while time.monotonic() - started < WAIT_SECONDS:
        OutboxDrainer(workspace).drain()  # `serve` runs this as its outbox job
        found = {name: systems.calls_on(name, EMAIL) for name in SYSTEMS}
        if all(found.values()):
            break
        time.sleep(0.1)
    table = Table("CRM", "call record", "on Ada through", title="Ada's call in each CRM")
    for name in SYSTEMS:
        for record, link in found.get(name) or [("(none)", "")]:
            table.add_row(LABELS[name], record, link)
    console.print(table)
    counts = {name: len(found.get(name, [])) for name in SYSTEMS}
    if any(count != 1 for count in counts.values()):
        raise CrmsyncError(f"the call is not on Ada once in each CRM after {WAIT_SECONDS} s: {counts}; "
                           "see `crmsync outbox list`")
    console.print("The call is on Ada once in each CRM (Salesforce, HubSpot, Zoho), within seconds of it being "
                  "placed.\n", highlight=False)
