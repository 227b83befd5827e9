"""Every shape of canonical record, mapped by the built-in Salesforce mapping and written by the real connector to
the Salesforce emulator: written, or held up front with the reason (never REQUIRED_FIELD_MISSING from Salesforce)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mapping_writes_support import CALLS, COMPANIES, DEALS, LEADS, connected, held_for, push
from sandbox_support import TEST_DEFAULTS, SalesforceOrgAdmin, running_emulator

from crmsync.connectors.base import Connector
from crmsync.mappings.loader import MappingSet


@pytest.fixture(scope="module")
def org() -> Iterator[SalesforceOrgAdmin]:
    with running_emulator("salesforce") as (runner, http):
        yield SalesforceOrgAdmin(runner.endpoints["salesforce"], http)


@pytest.fixture
def connector(org: SalesforceOrgAdmin) -> Iterator[Connector]:
    org.admin("POST", "reset")
    credentials = org.endpoint.credentials
    config: dict[str, Any] = {
        "name": "sf", "system": "salesforce", "base_url": org.base_url, "ca_bundle": org.endpoint.ca_bundle,
        "credentials": {key: credentials[key] for key in ("client_id", "client_secret", "username", "password")},
        "objects": {"Lead": "both", "Contact": "both", "Account": "both", "Opportunity": "both", "Task": "both"},
        "options": TEST_DEFAULTS}
    with connected(config) as made:
        yield made


def test_leads_and_contacts_are_written_or_held_for_their_last_name(org: SalesforceOrgAdmin, connector: Connector,
                                                                    mappings: MappingSet) -> None:
    leads = push(connector, mappings, "salesforce", "Lead", LEADS)
    assert set(leads.held) == {"lead-email-only", "lead-phone-only"}
    assert held_for(leads, "Salesforce Lead needs LastName; this lead has no last_name") == set(leads.held)
    assert leads.held["lead-phone-only"].endswith("(a phone-only caller?)")
    stored = {row["crmsync_id__c"]: row for row in org.records("Lead")}
    assert stored["lead-no-company"]["Company"] == "[not provided]"
    assert stored["lead-full"]["Company"] == "Analytical Engines"
    # `nurturing` and unknown statuses are left out: Salesforce sets its default status.
    assert stored["lead-status-nurturing"]["Status"] == stored["lead-status-custom"]["Status"] == "Open - Not Contacted"
    assert stored["lead-status-qualified"]["Status"] == "Closed - Converted"
    contacts = push(connector, mappings, "salesforce", "Contact", LEADS)
    assert set(contacts.held) == {"lead-email-only", "lead-phone-only"}


def test_accounts_of_every_industry_are_written_and_a_nameless_one_is_held(
        org: SalesforceOrgAdmin, connector: Connector, mappings: MappingSet) -> None:
    accounts = push(connector, mappings, "salesforce", "Account", COMPANIES)
    assert accounts.held == {"company-nameless": "Salesforce Account needs Name; this company has no name"}
    industries = {row["crmsync_id__c"]: row["Industry"] for row in org.records("Account")}
    assert industries["company-banking"] == "Banking" and industries["company-food_beverage"] == "Food & Beverage"
    assert industries["company-real_estate"] is None  # no Salesforce value: left out


def test_opportunities_of_every_stage_are_written_and_incomplete_ones_are_held(
        org: SalesforceOrgAdmin, connector: Connector, mappings: MappingSet) -> None:
    deals = push(connector, mappings, "salesforce", "Opportunity", DEALS)
    assert deals.held == {
        "deal-name-only": "Salesforce Opportunity needs StageName and CloseDate; this deal has no stage; "
                          "has no close_date",
        "deal-no-close-date": "Salesforce Opportunity needs CloseDate; this deal has no close_date"}
    stages = {row["crmsync_id__c"]: row["StageName"] for row in org.records("Opportunity")}
    assert stages["deal-prospecting"] == "Prospecting" and stages["deal-closed_won"] == "Closed Won"


def test_calls_are_logged_on_their_person_and_held_without_one(org: SalesforceOrgAdmin, connector: Connector,
                                                              mappings: MappingSet) -> None:
    people = push(connector, mappings, "salesforce", "Lead", LEADS)
    calls = push(connector, mappings, "salesforce", "Task", CALLS,
                 lambda obj, cid: people.ref(cid) if obj == "Lead" else None)
    assert calls.held == {
        "call-without-person": "Salesforce Task needs WhoId; this activity has no lead_id",
        "call-person-not-there": "Salesforce Task needs WhoId; this activity has lead_id 'lead-phone-only', which "
                                 "is not in Salesforce yet"}
    tasks = {row["crmsync_id__c"]: row for row in org.records("Task")}
    assert {row["WhoId"] for row in tasks.values()} == {people.written["lead-full"]}
    assert (tasks["call-with-person"]["TaskSubtype"], tasks["call-with-person"]["Status"]) == ("Call", "Completed")
    assert tasks["call-missed"]["CallType"] is None and tasks["call-internal"]["CallType"] == "Internal"
