"""The whole system, as users run it: all six vendors connected at once, on SQLite and on PostgreSQL, over
several passes. Each scenario ends in quiescence, with every CRM agreeing with the store, no dead letter, and
idle passes that write nothing."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_support import LocalListener
from sqlalchemy import select
from system_support import VENDORS, WEB_CONNECTOR_SECRET, Sandboxes, System, hubspot_signed, settings_for

from crmsync.store.models import ExternalRef, Lead


@pytest.fixture
def system(sandboxes: Sandboxes, store_url: str) -> Iterator[System]:
    running = System(sandboxes, settings_for(sandboxes, store_url))
    yield running
    running.close()


def seed_people(sandboxes: Sandboxes) -> dict[str, str]:
    """The people users already have: some in one system, some in several under the same e-mail."""
    sf, hs, zoho = sandboxes["salesforce"], sandboxes["hubspot"], sandboxes["zoho"]
    ids = {
        "ada_sf": sf.create("Lead", FirstName="Ada", LastName="Lovelace", Email="ada@analytical.io",
                            Company="Analytical Engines", Title="CTO", City="London", Phone="+14155550101"),
        "bob_sf": sf.create("Lead", FirstName="Bob", LastName="Brown", Email="bob@brown.example",
                            Company="Brown & Co", State="MA"),
        "ada_hs": hs.create("contacts", email="ada@analytical.io", firstname="Ada", lastname="Lovelace",
                            jobtitle="CTO"),
        "cy_hs": hs.create("contacts", email="cy@cyan.example", firstname="Cy", lastname="Cyan", city="Oslo"),
        "bob_zoho": zoho.create("Leads", First_Name="Bob", Last_Name="Brown", Email="bob@brown.example",
                                Company="Brown & Co"),
        "di_zoho": zoho.create("Leads", First_Name="Di", Last_Name="Dune", Email="di@dune.example",
                               Company="Dune Ltd", Designation="Buyer"),
    }
    sf.call("POST", "seed", {"object": "Lead", "count": 6})
    hs.call("POST", "seed", {"object": "contacts", "count": 6})
    zoho.call("POST", "seed", {"object": "Leads", "count": 6})
    return ids


def test_six_systems_converge_and_rest(system: System, sandboxes: Sandboxes) -> None:
    seed_people(sandboxes)
    system.backfill_all()
    passes = system.settle()
    compared = system.assert_converged()
    system.assert_no_dead_letters()
    system.assert_no_drift()
    print(f"settled in {passes} passes; {compared} CRM records compared; held: "
          f"{[(h['target'], h['last_error']) for h in system.outbox('held')]}")


def lead_ids(system: System, email: str) -> list[str]:
    with system.engine.connect() as conn:
        return list(conn.execute(select(Lead.id).where(Lead.email == email, Lead.merged_into.is_(None))).scalars())


def lead(system: System, email: str) -> Any:
    [lead_id] = lead_ids(system, email)
    with system.engine.connect() as conn:
        return conn.execute(select(Lead).where(Lead.id == lead_id)).mappings().one()


def in_crms(sandboxes: Sandboxes, email: str) -> dict[str, list[dict[str, Any]]]:
    """The person with this e-mail as each CRM holds them (HubSpot: its properties)."""
    found = {}
    for vendor, obj in (("salesforce", "Lead"), ("hubspot", "contacts"), ("zoho", "Leads")):
        rows = [row.get("properties", row) if vendor == "hubspot" else row for row in sandboxes[vendor].records(obj)]
        found[vendor] = [row for row in rows if (row.get("Email") or row.get("email") or "").lower() == email]
    return found


def only(sandboxes: Sandboxes, email: str) -> dict[str, dict[str, Any]]:
    held = in_crms(sandboxes, email)
    assert all(len(rows) == 1 for rows in held.values()), {k: len(v) for k, v in held.items()}
    return {vendor: rows[0] for vendor, rows in held.items()}


def test_the_scripted_day_of_six_systems(system: System, sandboxes: Sandboxes) -> None:
    """Creates everywhere, a payment that wins a deal, Five9 calls (one from a stranger), edits of different
    fields of one person in two systems, a losing value corrected, a delete, a CRM-side merge, webhooks
    shuffled and duplicated, and 429/5xx storms: after each step the whole settles and agrees."""
    sf, hs, zoho, stripe, razorpay, five9 = (sandboxes[v] for v in VENDORS)
    ids = seed_people(sandboxes)
    acme = sf.create("Account", Name="Acme", Website="https://www.acme.example", Industry="Banking")
    opportunity = sf.create("Opportunity", Name="Ada engines", StageName="Prospecting", CloseDate="2026-12-31",
                            Amount=1200, AccountId=acme)
    hs.create("companies", name="Globex", domain="globex.example", industry="COMPUTER_SOFTWARE")
    zoho.create("Accounts", Account_Name="Initech", Website="initech.example")
    hs.create("contacts", phone="+14155550177")  # a person known only by phone: no CRM but HubSpot can hold them
    system.backfill_all()
    system.settle()
    system.assert_converged()
    system.assert_no_dead_letters()
    ada = lead(system, "ada@analytical.io")
    assert {system_ for system_ in ("salesforce", "hubspot", "zoho")} <= set(refs_of(system, ada["id"]))
    held = {(h["target"], h["entity"]): h["last_error"] for h in system.outbox("held")}
    assert "LastName" in held[("salesforce", "lead")] and "Last_Name" in held[("zoho", "lead")], held

    # Ada pays by Stripe for her Salesforce Opportunity: the deal is won in every CRM. Bob pays by Razorpay.
    sandboxes.advance(60)
    customer = stripe.call("POST", "records/customers", {"email": "ada@analytical.io", "name": "Ada Lovelace"})
    stripe.call("POST", "records/payment_intents", {
        "amount": 120000, "currency": "usd", "customer": customer["id"], "payment_method": "pm_card_visa",
        "confirm": True, "metadata": {"deal_id": opportunity}})
    razorpay.call("POST", "records/payments", {"amount": 50000, "currency": "INR", "status": "captured",
                                               "email": "bob@brown.example", "notes": {}})
    # Five9, in real time through its web connector: Ada calls in; so does a stranger, who must not become a
    # lead anywhere (and whose call no CRM that logs calls on a person gets).
    with system.receiver() as (receiver, url):
        five9.call("POST", "five9/web-connectors", {"url": f"{url}/webhooks/five9",
                                                     "constants": {"crmsync_token": WEB_CONNECTOR_SECRET}})
        five9.call("POST", "calls", {"wait": True, "ani": "4155550101", "disposition": "Sold"})
        five9.call("POST", "calls", {"wait": True, "ani": "4155550666", "disposition": "No Answer"})
        system.process_inbox(receiver)
    system.settle()
    system.assert_converged()
    system.assert_no_dead_letters()
    stages = {"salesforce": sf.records("Opportunity")[0]["StageName"],
              "hubspot": hs.records("deals")[0]["properties"]["dealstage"], "zoho": zoho.records("Deals")[0]["Stage"]}
    assert stages == {"salesforce": "Closed Won", "hubspot": "closedwon", "zoho": "Closed Won"}
    assert len(sf.records("Task")) == 1 and len(hs.records("calls")) == 1 and len(zoho.records("Calls")) == 1
    with system.engine.connect() as conn:
        assert conn.execute(select(Lead.id).where(Lead.phone == "+14155550666")).first() is None

    # Different fields of one person edited in two systems a second apart; a losing value corrected.
    sf.update("Lead", ids["ada_sf"], LastName="King")
    sandboxes.advance(1)
    hs_ada = only(sandboxes, "ada@analytical.io")["hubspot"]
    hs.update("contacts", str(hs_ada.get("hs_object_id") or ids["ada_hs"]), city="Paris")
    bob_hs = next(r["id"] for r in hs.records("contacts") if r["properties"].get("email") == "bob@brown.example")
    hs.update("contacts", str(bob_hs), state="GA")
    sandboxes.advance(1)
    sf.update("Lead", ids["bob_sf"], Description="called twice")  # a field crmsync does not sync
    system.settle()
    system.assert_converged()
    people = only(sandboxes, "ada@analytical.io")
    assert (people["salesforce"]["LastName"], people["hubspot"]["lastname"], people["zoho"]["Last_Name"]) == (
        "King", "King", "King")
    assert (people["salesforce"]["City"], people["hubspot"]["city"], people["zoho"]["City"]) == (
        "Paris", "Paris", "Paris")
    bob = only(sandboxes, "bob@brown.example")
    assert (bob["salesforce"]["State"], bob["hubspot"]["state"], bob["zoho"]["State"]) == ("GA", "GA", "GA")

    # A delete in Zoho archives Di (the default policy) and touches no other system; a HubSpot merge of two
    # contacts becomes one canonical person, whom every system then holds with one set of values.
    sandboxes.advance(2)
    zoho.delete("Leads", ids["di_zoho"])
    twin = hs.create("contacts", email="cy.cyan@cyan.example", firstname="Cy", lastname="Cyan", jobtitle="Pilot")
    system.settle()
    hs.call("POST", "merge", {"object": "contacts", "primary": ids["cy_hs"], "merged": twin})
    system.settle()
    system.assert_converged()
    system.assert_no_dead_letters()
    assert lead(system, "di@dune.example")["deleted_at"] is not None
    assert len(in_crms(sandboxes, "di@dune.example")["salesforce"]) == 1  # not deleted there: archive only
    assert len(lead_ids(system, "cy@cyan.example")) == 1 and not lead_ids(system, "cy.cyan@cyan.example")

    # HubSpot webhooks, shuffled and delivered twice, while the scheduled passes go on: the newest edit wins.
    with system.receiver() as (receiver, url), HubSpotCapture(hs) as capture:
        cy = str(ids["cy_hs"])
        for title in ("Navigator", "Captain", "Commodore"):
            sandboxes.advance(1)
            hs.update("contacts", cy, jobtitle=title)
        events = capture.events(3)
        delivered = events + events[:2]
        random.Random(19).shuffle(delivered)
        endpoint = f"{url}/webhooks/hubspot"
        for batch in (delivered[:2], delivered[2:]):
            body, headers = hubspot_signed(hs.endpoint.credentials["client_secret"], endpoint, batch)
            assert requests.post(endpoint, data=body, headers=headers, timeout=10).status_code in (200, 204)
        system.process_inbox(receiver)
        system.settle()
    system.assert_converged()
    assert {row["Title"] for row in in_crms(sandboxes, "cy@cyan.example")["salesforce"]} == {"Commodore"}

    # 429 and 5xx storms on every CRM while people keep editing: retried, nothing lost, nothing dead. (Salesforce
    # has no 429: its rate limit is the daily allocation, a pause until tomorrow, tested on its own.)
    for admin in (hs, zoho):
        admin.fault("rate_limited", 3)
    for admin in (sf, hs, zoho):
        admin.fault("server_error", 3)
    sf.update("Lead", ids["bob_sf"], Title="Owner")
    zoho.update("Leads", ids["bob_zoho"], City="Boston")
    system.settle(max_passes=8, storm=True)
    system.assert_converged()
    system.assert_no_dead_letters()
    bob = only(sandboxes, "bob@brown.example")
    assert (bob["hubspot"]["jobtitle"], bob["salesforce"]["City"]) == ("Owner", "Boston")
    system.assert_no_drift()
    print("scripted day:", system.figures(), f"; {system.assert_converged()} CRM records compared")


def refs_of(system: System, canonical_id: str) -> list[str]:
    with system.engine.connect() as conn:
        return list(conn.execute(select(ExternalRef.system).where(ExternalRef.canonical_id == canonical_id,
                                                                  ExternalRef.deleted_at.is_(None))).scalars())


class HubSpotCapture:
    """A listener the HubSpot sandbox sends its webhook batches to; the test redelivers them as it likes."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.listener = LocalListener(lambda body: (200, b""), path="/captured")

    def __enter__(self) -> HubSpotCapture:
        self.admin.call("POST", "listeners", {"url": self.listener.url})
        return self

    def __exit__(self, *_exc: object) -> None:
        self.admin.call("DELETE", "listeners")
        self.listener.close()

    def events(self, at_least: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [event for _, body in self.listener.requests for event in json.loads(body)]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


# canonical field -> its source field in each CRM, and values people type into it
EDITABLE = {
    "title": ({"salesforce": "Title", "hubspot": "jobtitle", "zoho": "Designation"},
              ["CEO", "CTO", "Buyer", "Engineer", "Analyst"]),
    "city": ({"salesforce": "City", "hubspot": "city", "zoho": "City"}, ["Oslo", "Lima", "Pune", "Accra", "Kyiv"]),
    "first_name": ({"salesforce": "FirstName", "hubspot": "firstname", "zoho": "First_Name"},
                   ["Alex", "Sam", "Kim", "Noor", "Jo"]),
    "state": ({"salesforce": "State", "hubspot": "state", "zoho": "State"}, ["MA", "GA", "CA", "NY", "TX"]),
}
PERSON_OBJECT = {"salesforce": "Lead", "hubspot": "contacts", "zoho": "Leads"}


def crm_ids(system: System, canonical_id: str) -> dict[str, str]:
    with system.engine.connect() as conn:
        rows = conn.execute(select(ExternalRef.system, ExternalRef.external_id).where(
            ExternalRef.canonical_id == canonical_id, ExternalRef.deleted_at.is_(None),
            ExternalRef.system.in_(list(PERSON_OBJECT)))).all()
    return {row.system: row.external_id for row in rows}


@pytest.mark.parametrize("seed", [7])
def test_seeded_random_edits_everywhere_converge_on_the_newest(system: System, sandboxes: Sandboxes,
                                                              seed: int) -> None:
    """Rounds of edits of random people, fields and systems (one a second or two apart), creates and deletes:
    after each round the whole settles, every CRM agrees with the store, and each field holds its newest edit."""
    rng = random.Random(seed)
    seed_people(sandboxes)
    system.backfill_all()
    system.settle()
    with system.engine.connect() as conn:
        people = [row.id for row in conn.execute(select(Lead.id).where(Lead.deleted_at.is_(None)))
                  if set(crm_ids(system, row.id)) == set(PERSON_OBJECT)]
    assert len(people) >= 10
    newest: dict[tuple[str, str], Any] = {}
    gone: set[str] = set()
    actions: Counter[str] = Counter()
    plan = rng.choices(["edit", "create", "delete"], weights=[7, 1, 2], k=24)
    for round_number in range(3):
        for action in plan[round_number * 8:(round_number + 1) * 8]:
            actions[action] += 1
            vendor = rng.choice(list(PERSON_OBJECT))
            admin = sandboxes[vendor]
            if action == "create":
                n = rng.randrange(10_000)
                fields = {"salesforce": {"LastName": f"New{n}", "Email": f"new{n}@example.org", "Company": "N"},
                          "hubspot": {"lastname": f"New{n}", "email": f"new{n}@example.org"},
                          "zoho": {"Last_Name": f"New{n}", "Email": f"new{n}@example.org"}}[vendor]
                admin.create(PERSON_OBJECT[vendor], **fields)
            else:
                person = rng.choice([p for p in people if p not in gone])
                external_id = crm_ids(system, person)[vendor]
                if action == "delete":
                    admin.delete(PERSON_OBJECT[vendor], external_id)
                    gone.add(person)
                else:
                    name = rng.choice(list(EDITABLE))
                    sources, values = EDITABLE[name]
                    value = rng.choice(values)
                    admin.update(PERSON_OBJECT[vendor], external_id, **{sources[vendor]: value})
                    newest[(person, name)] = value
            sandboxes.advance(rng.choice([1, 2]))
        system.settle()
        system.assert_converged()
        system.assert_no_dead_letters()
        with system.engine.connect() as conn:
            for (person, name), value in newest.items():
                if person not in gone:
                    stored = conn.execute(select(getattr(Lead, name)).where(Lead.id == person)).scalar_one()
                    assert stored == value, f"round {round_number}: {name} of {person} is {stored!r}, not {value!r}"
    system.assert_no_drift()
    print(f"seed {seed}:", system.figures(), f"; actions {dict(actions)}")


def test_serving_every_vendor_without_zoho_notifications_configured_warns_nothing(
        system: System, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="crmsync")
    with system.receiver():
        pass
    assert not [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
