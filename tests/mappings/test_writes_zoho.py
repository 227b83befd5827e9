"""Every shape of canonical record, mapped by the built-in Zoho mapping and written by the real connector to the
Zoho emulator: written, or held up front with the reason (never MANDATORY_NOT_FOUND from Zoho)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mapping_writes_support import CALLS, COMPANIES, DEALS, LEADS, connected, held_for, push
from sandbox_support import running_emulator
from zoho_sandbox_support import ZOHO_OPTIONS, ZohoSandbox

from crmsync.connectors.base import Connector
from crmsync.mappings.loader import MappingSet

RETRIES = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "max_attempts": 3, "timeout_seconds": 10}


@pytest.fixture(scope="module")
def zoho() -> Iterator[ZohoSandbox]:
    with running_emulator("zoho", ZOHO_OPTIONS) as (runner, http):
        yield ZohoSandbox(runner.endpoints["zoho"], http)


@pytest.fixture
def connector(zoho: ZohoSandbox) -> Iterator[Connector]:
    zoho.admin("POST", "reset")
    credentials = zoho.endpoint.credentials
    config: dict[str, Any] = {
        "name": "zoho", "system": "zoho", "base_url": credentials["accounts_url"], "ca_bundle": zoho.endpoint.ca_bundle,
        "credentials": {key: credentials[key] for key in ("client_id", "client_secret", "refresh_token")},
        "objects": {"Leads": "both", "Contacts": "both", "Accounts": "both", "Deals": "both", "Calls": "both"},
        "options": RETRIES}
    with connected(config) as made:
        yield made


def _stored(zoho: ZohoSandbox, module: str) -> dict[str, dict[str, Any]]:
    return {row["crmsync_id"]: row for row in zoho.records(module)}


def test_leads_and_contacts_are_written_or_held_for_their_last_name(zoho: ZohoSandbox, connector: Connector,
                                                                    mappings: MappingSet) -> None:
    for module in ("Leads", "Contacts"):
        people = push(connector, mappings, "zoho", module, LEADS)
        assert set(people.held) == held_for(people, f"Zoho {module} needs Last_Name; this lead has no last_name") == {
            "lead-email-only", "lead-phone-only"}
    stored = _stored(zoho, "Leads")
    assert stored["lead-status-nurturing"]["Lead_Status"] == "Contact in Future"
    assert stored["lead-status-custom"].get("Lead_Status") is None


def test_accounts_of_every_industry_are_written_and_a_nameless_one_is_held(zoho: ZohoSandbox, connector: Connector,
                                                                          mappings: MappingSet) -> None:
    accounts = push(connector, mappings, "zoho", "Accounts", COMPANIES)
    assert accounts.held == {"company-nameless": "Zoho Accounts needs Account_Name; this company has no name"}
    industries = {cid: row.get("Industry") for cid, row in _stored(zoho, "Accounts").items()}
    assert industries["company-finance"] == "Financial Services" and industries["company-banking"] is None


def test_deals_of_every_stage_are_written_and_read_back_in_the_same_stage(zoho: ZohoSandbox, connector: Connector,
                                                                         mappings: MappingSet) -> None:
    deals = push(connector, mappings, "zoho", "Deals", DEALS)
    assert deals.held == {"deal-name-only": "Zoho Deals needs Stage; this deal has no stage"}
    read = {record.payload["crmsync_id"]: mappings.get("zoho", "Deals").to_patch(record).values.get("stage")
            for page in connector.read("Deals", None) for record in page.records}
    assert {cid: stage for cid, stage in read.items() if cid in DEALS} == {
        cid: values.get("stage") for cid, values in DEALS.items() if cid not in deals.held}


def test_calls_are_logged_on_a_contact_or_a_lead_and_held_without_one(zoho: ZohoSandbox, connector: Connector,
                                                                     mappings: MappingSet) -> None:
    contact = push(connector, mappings, "zoho", "Contacts", {"lead-full": LEADS["lead-full"]})
    on_contacts = push(connector, mappings, "zoho", "Calls", CALLS,
                       lambda obj, cid: contact.ref(cid) if obj == "Contacts" else None)
    assert on_contacts.held == {
        "call-without-person": "Zoho Calls needs Who_Id.id or What_Id.id; this activity has no lead_id",
        "call-person-not-there": "Zoho Calls needs Who_Id.id or What_Id.id; this activity has lead_id "
                                 "'lead-phone-only', which is not in Zoho yet",
        "call-without-start": "Zoho Calls needs Call_Start_Time; this activity has no started_at",
        "call-minimal": "Zoho Calls needs Subject and Call_Type and Call_Start_Time and Call_Duration; this "
                        "activity has no subject; has no direction; has no started_at; has no duration_s",
        "call-internal": "Zoho Calls needs Call_Type; this activity has direction='internal', which Zoho Calls does "
                         "not take"}
    stored = _stored(zoho, "Calls")
    assert stored["call-missed"]["Call_Type"] == "Missed" and stored["call-with-person"]["Call_Duration"] == "02:05"
    assert {row["Who_Id"]["id"] for row in stored.values()} == {contact.written["lead-full"]}
    lead = push(connector, mappings, "zoho", "Leads", {"lead-full": LEADS["lead-full"]})
    on_lead = push(connector, mappings, "zoho", "Calls", {"call-on-lead": CALLS["call-with-person"]},
                   lambda obj, cid: lead.ref(cid) if obj == "Leads" else None)
    assert on_lead.held == {}
    row = _stored(zoho, "Calls")["call-on-lead"]
    assert (row["What_Id"]["id"], row["$se_module"]) == (lead.written["lead-full"], "Leads")
