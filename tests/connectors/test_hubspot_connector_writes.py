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


def test_delete_items_archive_in_batches_mixed_with_upserts_in_input_order(portal: HubSpotPortalAdmin,
                                                                           make_connector: Make) -> None:
    first, second, gone = (portal.create("contacts", email=f"{name}@example.com") for name in ("a", "b", "c"))
    portal.delete("contacts", gone)  # archived already: deleting it again is not an error
    connector = make_connector(write_batch_size=2)
    results = connector.write("contacts", [
        WriteItem("lead-new", {"properties": {"email": "new@example.com"}}),
        WriteItem("lead-a", {}, first, delete=True),
        WriteItem("lead-never", {}, None, delete=True),  # never written to this portal: nothing to do
        WriteItem("lead-c", {}, gone, delete=True),
        WriteItem("lead-b", {}, second, delete=True),
    ])
    assert [(r.canonical_id, r.ok, r.external_id) for r in results] == [
        ("lead-new", True, results[0].external_id), ("lead-a", True, first), ("lead-never", True, None),
        ("lead-c", True, gone), ("lead-b", True, second)]
    live = {r["properties"]["email"] for r in portal.admin("GET", "records/contacts")}
    archived = {r["id"] for r in portal.admin("GET", "records/contacts", params={"include_deleted": True})} - {
        r["id"] for r in portal.admin("GET", "records/contacts")}
    assert live == {"new@example.com"} and archived == {first, second, gone}


def test_a_unique_value_held_by_another_crmsync_record_holds_the_item(portal: HubSpotPortalAdmin,
                                                                      make_connector: Make) -> None:
    connector = make_connector()
    ada, bob = connector.write("contacts", [WriteItem("lead-ada", {"properties": {"email": "ada@example.com"}}),
                                            WriteItem("lead-bob", {"properties": {"email": "bob@example.com"}})])
    # lead-bob now says it has Ada's address: HubSpot refuses (409), and Ada's contact is another crmsync record.
    [result] = connector.write("contacts", [WriteItem("lead-bob", {"properties": {
        "email": "ada@example.com", "jobtitle": "CTO"}}, bob.external_id)])
    assert (result.ok, result.held, result.external_id) == (False, True, bob.external_id)
    assert ada.external_id in (result.error or "") and "lead-ada" in (result.error or "")
    assert "email='ada@example.com'" in (result.error or "")
    by_id = {r["id"]: r["properties"] for r in portal.admin("GET", "records/contacts")}
    assert (by_id[ada.external_id]["crmsync_id"], by_id[ada.external_id].get("jobtitle")) == ("lead-ada", None)
    assert by_id[bob.external_id]["email"] == "bob@example.com"


def test_a_conflict_met_again_while_resolving_holds_that_row_only(portal: HubSpotPortalAdmin,
                                                                   make_connector: Make) -> None:
    connector = make_connector()
    [own] = connector.write("contacts", [WriteItem("lead-1", {"properties": {"email": "old@example.com"}})])
    native = portal.create("contacts", email="new@example.com")  # made in HubSpot, no crmsync id
    # lead-1's address changed to the native contact's, and its ref was lost: the upsert by e-mail lands on the
    # native contact, whose crmsync_id clashes with lead-1's own record, whose e-mail clashes with the native one.
    results = connector.write("contacts", [WriteItem("lead-1", {"properties": {"email": "new@example.com"}}),
                                           WriteItem("lead-2", {"properties": {"email": "two@example.com"}})])
    assert [(r.ok, r.held) for r in results] == [(False, True), (True, False)]
    assert native in (results[0].error or "") and own.external_id != native
