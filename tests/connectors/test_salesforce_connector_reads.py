"""Incremental and windowed reads through simple-salesforce against the emulator: paging, the inclusive
cursor with boundary ids, lookback, deletes, echo suppression, select lists and quoted SOQL values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from salesforce_connector_support import SalesforceOrgAdmin, ids_of

import crmsync.mappings.loader
from crmsync.connectors.base import Capability
from crmsync.connectors.salesforce import SalesforceConnector


def test_rest_pages_follow_next_records_url_and_a_shared_modstamp_is_delivered_once(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    org.seed("Lead", 2500)  # one seeding call stamps all 2,500 rows with the same SystemModstamp
    pages = list(connector.read("Lead", None))
    assert [len(page.records) for page in pages] == [200] * 12 + [100]  # batchSize hint 200, via nextRecordsUrl
    ids = ids_of(pages)
    assert len(set(ids)) == 2500 == len(org.records("Lead"))
    assert len({page.cursor["modstamp"] for page in pages}) == 1
    assert [len(page.cursor["last_ids"]) for page in pages] == [*range(200, 2401, 200), 2500]
    assert all(page.stream == "Lead" for page in pages)

    resumed = list(connector.read("Lead", pages[4].cursor))  # a crash after the fifth page
    assert ids_of(resumed) == ids[1000:]
    assert ids_of(connector.read("Lead", pages[-1].cursor)) == []  # the next run: nothing new, no loop


def test_boundary_ties_across_pages_and_runs_then_a_later_change(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    org.admin("POST", "clock/freeze")
    org.seed("Lead", 150)
    org.advance(0.001)
    org.seed("Lead", 150)  # 150 rows at T1, 150 at T2: the 200-row page boundary falls inside the T2 tie
    pages = list(connector.read("Lead", None))
    ids = ids_of(pages)
    assert [len(page.records) for page in pages] == [200, 100]
    assert len(pages[0].cursor["last_ids"]) == 50 and pages[0].cursor["modstamp"] == pages[1].cursor["modstamp"]

    assert ids_of(connector.read("Lead", pages[0].cursor)) == ids[200:]  # exactly the other 100 T2 rows
    final = pages[-1].cursor
    assert ids_of(connector.read("Lead", final)) == []

    org.advance(5)
    org.update("Lead", ids[3], Title="Chief Sync Officer")  # a T1 record, modified after the cursor
    # SOQL literals are whole seconds, so the same-second T1/T2 rows are fetched again and dropped here:
    # two API pages, only the changed record delivered.
    changed = list(connector.read("Lead", final))
    [record] = [record for page in changed for record in page.records]
    assert record.external_id == ids[3] and record.payload["Title"] == "Chief Sync Officer"
    assert record.modified_at.tzinfo is not None and changed[-1].cursor["last_ids"] == [ids[3]]
    assert changed[-1].cursor["modstamp"] > final["modstamp"]
    assert ids_of(connector.read("Lead", changed[-1].cursor)) == []


def test_lookback_rereads_late_visible_changes_but_not_the_boundary_ids(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    with_lookback, without = make_connector(lookback_seconds=60), make_connector(lookback_seconds=0)
    org.admin("POST", "clock/freeze")
    early = org.create("Lead", LastName="Early", Company="C")
    org.advance(10)
    org.create("Lead", LastName="Boundary", Company="C")
    cursor = list(with_lookback.read("Lead", None))[-1].cursor
    org.advance(-5)
    late = org.create("Lead", LastName="Late", Company="C")  # committed late: stamped before the watermark
    org.advance(5)
    pages = list(with_lookback.read("Lead", cursor))
    assert ids_of(pages) == [early, late]  # the overlap is re-read (hashes dedupe); the boundary id is not
    assert pages[-1].cursor == cursor  # re-reading older rows never moves the watermark back
    assert ids_of(without.read("Lead", cursor)) == []  # without lookback the late commit would be lost


def test_deletes_surface_as_deleted_source_records(org: SalesforceOrgAdmin, connector: SalesforceConnector) -> None:
    kept, gone = (org.create("Contact", LastName=name) for name in ("Kept", "Gone"))
    cursor = list(connector.read("Contact", None))[-1].cursor
    org.advance(2)
    org.admin("DELETE", f"records/Contact/{gone}")
    [page] = list(connector.read("Contact", cursor))
    [record] = page.records
    assert (record.external_id, record.deleted, record.object) == (gone, True, "Contact")
    assert record.modified_at > datetime.fromisoformat(cursor["modstamp"])
    window = list(connector.read("Contact", None, since=datetime.now(UTC) - timedelta(hours=1)))
    assert {(r.external_id, r.deleted) for p in window for r in p.records} == {(kept, False), (gone, True)}


def test_own_changes_are_skipped_and_counted_but_advance_the_cursor(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    probe = make_connector()
    ours = make_connector(integration_user_id=probe.identity.user_id)  # the emulator's only user edits all
    org.admin("POST", "clock/freeze")
    created = [org.create("Lead", LastName=name, Company="C") for name in ("A", "B")]
    [page] = list(ours.read("Lead", None))
    assert page.records == [] and ours.skipped_own_changes["Lead"] == 2
    assert sorted(page.cursor["last_ids"]) == sorted(created)
    [record] = probe.fetch("Lead", created[:1])
    assert ours.is_own_change(record) and not probe.is_own_change(record)
    short_form = make_connector(integration_user_id=probe.identity.user_id[:15])  # as copied from the UI
    assert [page.records for page in short_form.read("Lead", None)] == [[]]
    others = make_connector(integration_user_id="0058d0000000999AAA")
    assert sorted(ids_of(others.read("Lead", None))) == sorted(created)


def test_select_lists_cover_the_mapping_and_every_custom_field(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    org.admin("POST", "fields", json={"object": "Lead", "name": "Tier__c"})
    lead = org.create("Lead", LastName="Custom", Company="C", Tier__c="gold")
    mapping = yaml.safe_load((Path(crmsync.mappings.loader.__file__).with_name("salesforce.yaml")).read_text())
    for object_name, spec in mapping["objects"].items():
        fields = connector.fields(object_name)
        assert {"Id", "SystemModstamp", "LastModifiedById", "IsDeleted"} <= set(fields)
        assert {rule["source"] for rule in spec["fields"] if "source" in rule} <= set(fields), object_name
    assert "Tier__c" in connector.fields("Lead") and "crmsync_id__c" in connector.fields("Lead")
    assert {"Five9__Five9SessionId__c", "Five9__Five9HandleTime__c"} <= set(connector.fields("Task"))
    [record] = connector.fetch("Lead", [lead])
    assert record.payload["Tier__c"] == "gold" and "attributes" not in record.payload
    assert connector.streams() == ("Lead", "Contact", "Account", "Opportunity", "Task")
    assert connector.capabilities == {Capability.INCREMENTAL, Capability.BACKFILL, Capability.DELETES,
                                      Capability.WRITE_BACK, Capability.WEBHOOKS, Capability.DELETE_WRITES,
                                      Capability.ID_LISTING}


def test_values_put_into_soql_are_quoted(org: SalesforceOrgAdmin, connector: SalesforceConnector) -> None:
    evil = "x' OR LastName != '"
    target = org.create("Lead", LastName="Target", Company="C", crmsync_id__c=evil)
    org.create("Lead", LastName="Bystander", Company="C", crmsync_id__c="plain")
    assert [r.external_id for r in connector.fetch_by_external_ids("Lead", [evil])] == [target]
    assert connector.fetch_by_external_ids("Lead", ["nobody' OR Id != '"]) == []
    assert connector.fetch("Lead", ["00Q' OR Name != '"]) == []


def test_id_listing_pages_through_the_live_records_only(org: SalesforceOrgAdmin, connector: SalesforceConnector
                                                       ) -> None:
    org.seed("Contact", 450)
    ids = [row["Id"] for row in org.records("Contact")]
    pages = list(connector.list_ids("Contact"))
    assert [len(page) for page in pages] == [200, 200, 50]  # batchSize 200, through nextRecordsUrl
    assert sorted(record_id for page in pages for record_id in page) == sorted(ids)
    org.admin("DELETE", f"records/Contact/{ids[0]}")  # in the recycle bin: not live
    org.purge(ids[1])  # emptied from the bin (queryAll no longer shows it either)
    listed = {record_id for page in connector.list_ids("Contact") for record_id in page}
    assert listed == set(ids[2:])
    assert [page for page in connector.list_ids("Opportunity")] == [[]]
