"""HubSpot connector reads through hubspot-api-client: backfill, incremental search past the 10,000 cap,
deletes, associations and custom properties."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import hubspot_connector_support as fixtures
from hubspot_connector_support import HubSpotPortalAdmin, ids_of

from crmsync.connectors.hubspot import HubSpotConnector
from crmsync.mappings.loader import load_mappings

Make = Callable[..., HubSpotConnector]

hubspot_emulator, portal, make_connector = (  # fixtures used by name
    fixtures.hubspot_emulator, fixtures.portal, fixtures.make_connector)


def _drain(connector: HubSpotConnector, stream: str, cursor: dict | None) -> tuple[list[str], dict | None]:
    ids, last = [], cursor
    for page in connector.read(stream, cursor):
        ids += [record.external_id for record in page.records]
        last = dict(page.cursor)
    return ids, last


def test_25000_contacts_modified_in_one_instant_are_synced_exactly_once(portal: HubSpotPortalAdmin,
                                                                       make_connector: Make) -> None:
    connector = make_connector()
    first = portal.create("contacts", email="before@example.com")
    _, cursor = _drain(connector, "contacts", None)  # backfill, then incremental from the newest change
    portal.advance(5)
    portal.admin("POST", "clock/freeze")
    portal.seed("contacts", 25_000)  # one millisecond for all: no time window can split them
    portal.admin("POST", "clock/unfreeze")
    ids, cursor = _drain(connector, "contacts", cursor)
    assert len(ids) == 25_000 == len(set(ids)) and first not in ids
    assert connector.client.rate_limited == 0  # and no 400: a cap violation would have raised
    again, _ = _drain(connector, "contacts", cursor)
    assert again == []
    backfill, _ = _drain(make_connector(name="fresh"), "contacts", None)
    assert len(backfill) == 25_001 == len(set(backfill))


def test_the_cap_is_passed_by_time_windows_without_a_400(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    connector = make_connector(search_cap=300, search_page_size=100)  # a small cap exercises the same path fast
    _, cursor = _drain(connector, "companies", None)
    for _ in range(4):  # four instants of 250 records
        portal.advance(1)
        portal.admin("POST", "clock/freeze")
        portal.seed("companies", 250)
        portal.admin("POST", "clock/unfreeze")
    ids, cursor = _drain(connector, "companies", cursor)
    assert len(ids) == 1000 == len(set(ids))
    assert _drain(connector, "companies", cursor)[0] == []


def test_incremental_reads_updates_and_deletes(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    connector = make_connector()
    a, b = portal.create("deals", dealname="A"), portal.create("deals", dealname="B")
    ids, cursor = _drain(connector, "deals", None)
    assert sorted(ids) == sorted([a, b])
    portal.advance(1)
    portal.update("deals", a, dealstage="closedwon")
    portal.delete("deals", b)
    pages = list(connector.read("deals", cursor))
    records = [record for page in pages for record in page.records]
    assert [(r.external_id, r.deleted) for r in records] == [(a, False), (b, True)]
    assert records[0].payload["properties"]["dealstage"] == "closedwon"
    assert ids_of(connector.read("deals", pages[-1].cursor)) == []


def test_window_reads_use_search_between_since_and_until(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    connector = make_connector()
    old = portal.create("calls", hs_timestamp="2026-01-01T00:00:00Z", hs_call_title="old")
    portal.advance(60)
    start = portal.backend.clock.now()
    new = portal.create("calls", hs_timestamp="2026-01-01T00:00:00Z", hs_call_title="new")
    assert ids_of(connector.read("calls", None, since=start, until=start + timedelta(seconds=30))) == [new]
    assert old not in ids_of(connector.read("calls", None, since=start))


def test_associations_and_custom_properties_reach_the_mapping(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    portal.define_property("contacts", name="favourite_color", type="enumeration", fieldType="select", options=[
        {"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}])
    company = portal.create("companies", name="Acme", domain="acme.example")
    contact = portal.create("contacts", email="Ann@Acme.example", firstname="Ann", favourite_color="blue")
    portal.link("contacts", contact, "companies", company)
    connector = make_connector()
    assert "favourite_color" in connector.properties("contacts")
    [record] = [r for page in connector.read("contacts", None) for r in page.records]
    assert record.payload["associations"] == {"companies": [company]}
    patch = load_mappings().get("hubspot", "contacts").to_patch(record)
    assert patch.values["email"] == "ann@acme.example" and patch.values["custom.favourite_color"] == "blue"
    assert patch.refs["company_id"].external_id == company and patch.refs["company_id"].object == "companies"


def test_list_ids_pages_live_ids_only(portal: HubSpotPortalAdmin, make_connector: Make) -> None:
    from hubspot.crm.contacts import PublicGdprDeleteInput

    from crmsync.connectors.base import Capability

    portal.seed("contacts", 230)
    connector = make_connector()
    assert {Capability.ID_LISTING, Capability.DELETE_WRITES} <= connector.capabilities
    every = [r["id"] for r in portal.admin("GET", "records/contacts")]
    archived, erased, purged, primary, merged = every[:5]
    portal.delete("contacts", archived)
    portal.sdk().crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id=erased))  # GDPR delete
    portal.delete("contacts", purged)
    portal.admin("POST", "purge", json={"object": "contacts", "id": purged})  # an archive past 90 days
    survivor = portal.merge("contacts", primary, merged)
    pages = list(connector.list_ids("contacts"))
    assert [len(page) for page in pages][:2] == [100, 100] and all(pages)
    listed = [record_id for page in pages for record_id in page]
    # The merged-away ids still answer (with the survivor): a ref kept under one is not a deletion.
    assert sorted(listed, key=int) == sorted([*every[5:], survivor, primary, merged], key=int)
