"""HubSpot connector write-back: batch upserts, 207 rows, conflicts resolved, associations."""

from __future__ import annotations

from collections.abc import Callable

import hubspot_connector_support as fixtures
from hubspot_connector_support import HubSpotPortalAdmin

from crmsync.connectors.base import WriteItem
from crmsync.connectors.hubspot import HubSpotConnector

Make = Callable[..., HubSpotConnector]

hubspot_emulator, portal, make_connector = (  # fixtures used by name
    fixtures.hubspot_emulator, fixtures.portal, fixtures.make_connector)


def test_contacts_upsert_by_email_and_207_rows_map_one_by_one(portal: HubSpotPortalAdmin,
                                                              make_connector: Make) -> None:
    existing = portal.create("contacts", email="known@example.com", firstname="Old")
    connector = make_connector()
    results = connector.write("contacts", [
        WriteItem("lead-1", {"properties": {"email": "known@example.com", "firstname": "New"}}),
        WriteItem("lead-2", {"properties": {"email": "fresh@example.com", "lastname": "Fresh"}}),
        WriteItem("lead-3", {"properties": {"email": "broken"}}),
        WriteItem("lead-4", {"properties": {"email": "valid@example.com", "hs_lead_status": "NOT_A_STATUS"}}),
    ])
    assert [(r.canonical_id, r.ok, r.created) for r in results] == [
        ("lead-1", True, False), ("lead-2", True, True), ("lead-3", False, False), ("lead-4", False, False)]
    assert results[0].external_id == existing and "VALIDATION_ERROR" in (results[2].error or "")
    assert "hs_lead_status" in (results[3].error or "") and not results[3].retryable
    stored = {r["properties"]["email"]: r["properties"] for r in portal.admin("GET", "records/contacts")}
    assert stored["known@example.com"]["firstname"] == "New"
    assert stored["fresh@example.com"]["crmsync_id"] == "lead-2"  # the unique property was created on demand


def test_companies_upsert_by_crmsync_id_and_replays_do_not_duplicate(portal: HubSpotPortalAdmin,
                                                                     make_connector: Make) -> None:
    connector = make_connector()
    first = connector.write("companies", [WriteItem("co-1", {"properties": {"name": "Acme"}})])
    again = connector.write("companies", [WriteItem("co-1", {"properties": {"name": "Acme Inc"}})])
    assert first[0].created and not again[0].created and first[0].external_id == again[0].external_id
    [company] = portal.admin("GET", "records/companies")
    assert company["properties"]["name"] == "Acme Inc"


def test_an_already_exists_conflict_resolves_to_the_existing_record(portal: HubSpotPortalAdmin,
                                                                    make_connector: Make) -> None:
    stale = portal.create("contacts", email="stale@example.com")
    owner = portal.create("contacts", email="taken@example.com")
    connector = make_connector()
    [result] = connector.write("contacts", [WriteItem("lead-9", {"properties": {"email": "taken@example.com",
                                                                               "jobtitle": "CEO"}}, stale)])
    assert result.ok and result.external_id == owner and not result.created
    by_id = {r["id"]: r["properties"] for r in portal.admin("GET", "records/contacts")}
    assert by_id[owner]["jobtitle"] == "CEO"


def test_associations_are_written_after_the_records(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    company, contact = portal.create("companies", name="Acme"), portal.create("contacts", email="d@acme.example")
    connector = make_connector()
    [result] = connector.write("deals", [WriteItem("deal-1", {
        "properties": {"dealname": "Big", "amount": "1000", "dealstage": "closedwon"},
        "associations": {"companies": {"0": company}, "contacts": [contact]}})])
    assert result.ok, result.error
    [deal] = [r for r in portal.admin("GET", "records/deals")]
    assert deal["associations"]["companies"]["results"][0]["id"] == company
    assert deal["associations"]["contacts"]["results"][0]["id"] == contact
    [bad] = connector.write("deals", [WriteItem("deal-2", {"properties": {"dealname": "X"},
                                                           "associations": {"companies": ["999999"]}})])
    assert not bad.ok and bad.external_id and "associating" in (bad.error or "")
