"""Deletes in a connected system: the policy per connection, a change-log row each, the mass-delete rail and
the ids a listing no longer returns (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crmsync.config.deletes import DeleteRail
from crmsync.config.policy import MergePolicy
from crmsync.store.models import ChangeLog, ExternalRef, Lead, OutboxItem
from crmsync.sync_engine.deletes import DeleteGuard, MassDeletePaused, missing_ids
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.outbox import OutboxRoutes, Route, outbox_hook
from crmsync.sync_engine.records import SourceRecord

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def sf_lead(ext: str, minutes: int = 0, deleted: bool = False, **fields: Any) -> SourceRecord:
    return SourceRecord("salesforce", "Lead", ext, T0 + timedelta(minutes=minutes), {"Id": ext, **fields},
                        deleted=deleted)


def hs_contact(ext: str, minutes: int = 0, **props: Any) -> SourceRecord:
    return SourceRecord("hubspot", "contacts", ext, T0 + timedelta(minutes=minutes), {"id": ext, "properties": props})


def make_ingestor(engine, mappings, policy: str) -> Ingestor:
    ingestor = Ingestor(engine, mappings, MergePolicy(), delete_policies={"salesforce": policy})
    routes = OutboxRoutes([Route("salesforce", "lead", "Lead"), Route("hubspot", "lead", "contacts")])
    ingestor.page_hooks.append(outbox_hook(routes, "run"))
    return ingestor


def rows(engine, model, *where) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(model).where(*where)).mappings())


def one_person_in_both(ingestor: Ingestor) -> None:
    ingestor.ingest_page([sf_lead("00Q1", Email="pat@x.io", LastName="Brown")], "r1")
    ingestor.ingest_page([hs_contact("901", 1, email="pat@x.io", lastname="Brown")], "r2")


@pytest.mark.parametrize("policy", ["archive", "propagate", "ignore"])
def test_a_delete_is_logged_and_acts_as_its_connection_says(engine, mappings, policy: str) -> None:
    ingestor = make_ingestor(engine, mappings, policy)
    one_person_in_both(ingestor)
    with engine.begin() as conn:
        conn.execute(OutboxItem.__table__.delete())
    result = ingestor.ingest_page([sf_lead("00Q1", 5, deleted=True)], "r3")
    [lead] = rows(engine, Lead)
    [log] = rows(engine, ChangeLog, ChangeLog.kind == "delete")
    assert result.counts["deleted"] == 1 and log["changes"]["deleted_in"] == [None, "salesforce Lead 00Q1"]
    assert (lead["deleted_at"] is not None) is (policy != "ignore")
    queued = [(item["target"], item["kind"]) for item in rows(engine, OutboxItem)]
    assert queued == ([("hubspot", "delete")] if policy == "propagate" else [])
    # Reading the delete again (our own propagated delete read back, a re-read) changes nothing more.
    assert ingestor.ingest_page([sf_lead("00Q1", 6, deleted=True)], "r4").counts["unchanged"] == 1


def test_an_archived_record_comes_back_only_when_edited_elsewhere(engine, mappings) -> None:
    ingestor = make_ingestor(engine, mappings, "archive")
    one_person_in_both(ingestor)
    ingestor.ingest_page([sf_lead("00Q1", 5, deleted=True)], "r3")
    ingestor.ingest_page([hs_contact("901", 6, email="pat@x.io", lastname="Brown")], "r4")  # touched, unchanged
    assert rows(engine, Lead)[0]["deleted_at"] is not None
    ingestor.ingest_page([hs_contact("901", 7, email="pat@x.io", lastname="Green")], "r5")
    [lead] = rows(engine, Lead)
    assert (lead["deleted_at"], lead["last_name"]) == (None, "Green")


def test_the_rail_stops_a_pass_deleting_too_much_until_confirmed(engine, mappings) -> None:
    ingestor = make_ingestor(engine, mappings, "archive")
    ingestor.ingest_page([sf_lead(f"00Q{i}", Email=f"p{i}@x.io", LastName="L") for i in range(10)], "r1")
    rail = DeleteRail(max_share=0.3, max_count=100, min_count=2)
    ingestor.delete_guard = DeleteGuard("salesforce", rail)
    ingestor.ingest_page([sf_lead("00Q0", 5, deleted=True), sf_lead("00Q1", 5, deleted=True)], "r2")  # 20 %
    with pytest.raises(MassDeletePaused, match=r"would delete 4 of the 10 records.*--confirm-deletes"):
        ingestor.ingest_page([sf_lead(f"00Q{i}", 5, deleted=True) for i in (2, 3)], "r3")
    assert len(rows(engine, Lead, Lead.deleted_at.is_not(None))) == 2  # the page was not applied
    ingestor.delete_guard = DeleteGuard("salesforce", rail, confirmed=True)
    ingestor.ingest_page([sf_lead(f"00Q{i}", 5, deleted=True) for i in (2, 3)], "r4")
    assert len(rows(engine, Lead, Lead.deleted_at.is_not(None))) == 4


def test_ids_a_listing_no_longer_returns_are_the_hard_deletes(engine, mappings) -> None:
    ingestor = make_ingestor(engine, mappings, "archive")
    ingestor.ingest_page([sf_lead(f"00Q{i}", Email=f"p{i}@x.io", LastName="L") for i in range(4)], "r1")
    began = datetime.now(UTC)
    ingestor.ingest_page([sf_lead("00Q9", Email="new@x.io", LastName="L")], "r2")  # made while listing
    with engine.begin() as conn:
        conn.execute(ExternalRef.__table__.update().where(ExternalRef.external_id == "00Q9").values(seen_at=began))
    assert missing_ids(engine, "salesforce", "Lead", ["00Q0", "00Q2"], began) == ["00Q1", "00Q3"]
