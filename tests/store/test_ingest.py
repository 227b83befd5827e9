"""The ingest path against a real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from crmsync.config.policy import MergePolicy
from crmsync.store.models import (
    ChangeLog,
    Checkpoint,
    Company,
    Conflict,
    Deal,
    ExternalRef,
    Lead,
    RecordError,
)
from crmsync.store.provenance import unpack
from crmsync.sync_engine.ingest import CheckpointUpdate, Ingestor
from crmsync.sync_engine.records import SourceRecord

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def sf_lead(ext: str, minutes: int = 0, **fields: Any) -> SourceRecord:
    return SourceRecord("salesforce", "Lead", ext, T0 + timedelta(minutes=minutes), {"Id": ext, **fields})


def hs_contact(ext: str, minutes: int = 0, **props: Any) -> SourceRecord:
    return SourceRecord("hubspot", "contacts", ext, T0 + timedelta(minutes=minutes), {"id": ext, "properties": props})


@pytest.fixture
def ingestor(engine, mappings) -> Ingestor:
    policy = MergePolicy.model_validate({"system_priority": ["salesforce", "hubspot", "zoho"],
                                         "entities": {"lead": {"lead_status": "manual"}}})
    return Ingestor(engine, mappings, policy)


def rows(engine, model, *where) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(model).where(*where)).mappings())


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_same_person_from_two_systems_becomes_one_record_with_provenance(engine, ingestor):
    first = ingestor.ingest_page([sf_lead("00Q1", Email="ada@x.io", LastName="Lovelace", Title="CTO")], "run1")
    second = ingestor.ingest_page([hs_contact("101", 5, email="ADA@x.io", jobtitle="CEO", city="London")], "run2")
    assert (first.counts["created"], second.counts["updated"], second.counts["created"]) == (1, 1, 0)
    [lead] = rows(engine, Lead)
    assert (lead["email"], lead["title"], lead["city"], lead["last_name"]) == ("ada@x.io", "CEO", "London", "Lovelace")
    prov = unpack(lead["provenance"])
    assert prov["title"][:1] == ["hubspot"] and prov["last_name"][0] == "salesforce"
    assert prov["title"][2] == "run2"
    assert {r["system"] for r in rows(engine, ExternalRef)} == {"salesforce", "hubspot"}
    assert second.pushes == {("lead", lead["id"]): {"salesforce"}}
    log = rows(engine, ChangeLog)
    assert [r["kind"] for r in log] == ["create", "update"]
    assert log[0]["changes"] == first.changes[0]["changes"] == {"fields": ["email", "last_name", "title"]}
    assert log[1]["changes"]["title"] == ["CTO", "CEO"]


def test_rereading_the_same_records_changes_nothing(engine, ingestor):
    page = [sf_lead("00Q1", Email="a@x.io", LastName="A"), sf_lead("00Q2", Email="b@x.io", LastName="B")]
    ingestor.ingest_page(page, "r1")
    again = ingestor.ingest_page(page, "r2")
    assert again.counts["unchanged"] == 2 and again.counts["created"] == again.counts["updated"] == 0
    assert count(engine, ChangeLog) == 2


def test_an_echo_of_what_we_pushed_is_recognised(engine, ingestor, mappings):
    ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A")], "r1")
    echo = sf_lead("00Q1", 9, Email="a@x.io", LastName="A", Title="VP")
    pushed_hash = mappings.get("salesforce", "Lead").to_patch(echo).content_hash()
    with engine.begin() as conn:
        conn.execute(update(ExternalRef).values(pushed_hash=pushed_hash))
    assert ingestor.ingest_page([echo], "r2").counts["unchanged"] == 1


def test_two_candidates_open_an_identity_conflict_instead_of_merging(engine, ingestor):
    ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", Phone="+14155550101", LastName="A"),
                          sf_lead("00Q2", Email="b@x.io", Phone="+14155550101", LastName="B")], "r1")
    result = ingestor.ingest_page([hs_contact("7", phone="(415) 555-0101")], "r2")
    assert result.counts["created"] == 1
    conflicts = rows(engine, Conflict, Conflict.kind == "identity")
    assert len(conflicts) == 2  # the second Salesforce lead (same phone, same system) and the HubSpot contact
    assert len(conflicts[-1]["candidates"]) == 3 and count(engine, Lead) == 3


def test_manual_field_conflicts_coalesce_on_one_open_conflict(engine, ingestor):
    ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A", Status="Working - Contacted")], "r1")
    ingestor.ingest_page([hs_contact("1", 5, email="a@x.io", hs_lead_status="OPEN_DEAL")], "r2")
    ingestor.ingest_page([hs_contact("1", 6, email="a@x.io", hs_lead_status="UNQUALIFIED")], "r3")
    [conflict] = rows(engine, Conflict)
    assert [c["value"] for c in conflict["candidates"]] == ["working", "qualified", "unqualified"]
    assert rows(engine, Lead)[0]["lead_status"] == "working"


def test_mapping_failure_is_recorded_and_the_page_goes_on(engine, ingestor):
    result = ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A", Phone="not a phone"),
                                   sf_lead("00Q2", Email="b@x.io", LastName="B")], "r1")
    assert (result.counts["failed"], result.counts["created"]) == (1, 1)
    [error] = rows(engine, RecordError)
    assert error["external_id"] == "00Q1" and "Phone" in error["error"] and error["payload"]["Phone"] == "not a phone"


def test_checkpoint_commits_with_the_page_and_rolls_back_with_it(engine, ingestor, monkeypatch):
    ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A")], "r1",
                         CheckpointUpdate("salesforce", "Lead", {"modstamp": "t1"}))
    assert rows(engine, Checkpoint)[0]["cursor"] == {"modstamp": "t1"}
    import crmsync.sync_engine.ingest as ingest_module

    def explode(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "save_checkpoint", explode)
    with pytest.raises(RuntimeError):
        ingestor.ingest_page([sf_lead("00Q2", Email="b@x.io", LastName="B")], "r2",
                             CheckpointUpdate("salesforce", "Lead", {"modstamp": "t2"}))
    assert count(engine, Lead) == 1 and rows(engine, Checkpoint)[0]["cursor"] == {"modstamp": "t1"}


def test_dry_run_writes_nothing_but_reports_the_plan(engine, ingestor):
    result = ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A")], "r1", dry_run=True)
    assert result.counts["created"] == 1 and result.changes[0]["changes"] == {"fields": ["email", "last_name"]}
    assert count(engine, Lead) == count(engine, ExternalRef) == count(engine, ChangeLog) == 0


def test_delete_from_the_last_linked_system_soft_deletes(engine, mappings):
    """Under the `ignore` delete policy (config/deletes.py; tests/store/test_deletes.py has the others)."""
    ingestor = Ingestor(engine, mappings, MergePolicy(), delete_policies={"salesforce": "ignore", "hubspot": "ignore"})
    ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A")], "r1")
    ingestor.ingest_page([hs_contact("1", 1, email="a@x.io")], "r2")
    deleted = SourceRecord("hubspot", "contacts", "1", T0 + timedelta(minutes=2), {"id": "1"}, deleted=True)
    ingestor.ingest_page([deleted], "r3")
    assert rows(engine, Lead)[0]["deleted_at"] is None  # Salesforce still has the person
    gone = SourceRecord("salesforce", "Lead", "00Q1", T0 + timedelta(minutes=3), {"Id": "00Q1"}, deleted=True)
    ingestor.ingest_page([gone], "r4")
    assert rows(engine, Lead)[0]["deleted_at"] is not None


def test_types_round_trip_and_refs_resolve_parents_first(engine, ingestor):
    account = SourceRecord("salesforce", "Account", "001A", T0, {"Id": "001A", "Name": "Acme", "Website": "acme.com"})
    opp = SourceRecord("salesforce", "Opportunity", "006A", T0, {
        "Id": "006A", "Name": "Big", "Amount": 1234.56, "StageName": "Closed Won", "CloseDate": "2026-12-01",
        "AccountId": "001A"})
    result = ingestor.ingest_page([opp, account], "r1")  # child first in the page: parents are applied first
    assert result.counts["created"] == 2
    [company] = rows(engine, Company)
    [deal] = rows(engine, Deal)
    assert deal["amount"] == Decimal("1234.56") and deal["close_date"] == date(2026, 12, 1)
    assert deal["company_id"] == company["id"] and company["domain"] == "acme.com"
    assert deal["created_at"].tzinfo is not None


def test_updates_write_changed_columns_and_keep_the_rest(engine, ingestor):
    ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A", Title="CTO", Rating__c="Hot")], "r1")
    ingestor.ingest_page([hs_contact("1", 5, email="a@x.io", jobtitle="CEO", crm_tags="vip;beta", score="5")], "r2")
    [lead] = rows(engine, Lead)
    assert (lead["email"], lead["last_name"], lead["title"], lead["tags"]) == ("a@x.io", "A", "CEO", ["beta", "vip"])
    assert lead["custom"] == {"Rating__c": "Hot", "score": "5"}
    prov = unpack(lead["provenance"])
    assert prov["title"][0] == prov["tags"][0] == prov["custom.score"][0] == "hubspot"
    assert prov["last_name"][0] == prov["custom.Rating__c"][0] == "salesforce"
    gone = SourceRecord("salesforce", "Lead", "00Q1", T0 + timedelta(minutes=6), {"Id": "00Q1"}, deleted=True)
    ingestor.ingest_page([gone, SourceRecord("hubspot", "contacts", "1", T0 + timedelta(minutes=7), {"id": "1"},
                                             deleted=True)], "r3")
    assert rows(engine, Lead)[0]["deleted_at"] is not None
    ingestor.ingest_page([hs_contact("1", 8, email="a@x.io", city="Paris")], "r4")  # back again: undeleted
    [lead] = rows(engine, Lead)
    assert (lead["deleted_at"], lead["city"], lead["title"], lead["tags"]) == (None, "Paris", "CEO", ["beta", "vip"])


def test_a_record_created_and_updated_in_one_page_keeps_both_sources(engine, ingestor):
    result = ingestor.ingest_page([sf_lead("00Q1", Email="a@x.io", LastName="A", Title="CTO"),
                                   hs_contact("1", 5, email="a@x.io", jobtitle="CEO", city="Oslo")], "r1")
    assert (result.counts["created"], result.counts["updated"]) == (1, 1)
    [lead] = rows(engine, Lead)
    assert (lead["title"], lead["city"], lead["last_name"]) == ("CEO", "Oslo", "A")
    prov = unpack(lead["provenance"])
    assert (prov["title"][0], prov["city"][0], prov["last_name"][0], prov["email"][0]) == (
        "hubspot", "hubspot", "salesforce", "hubspot")
    assert [c["kind"] for c in result.changes] == ["create", "update"]
    assert result.changes[1]["changes"]["title"] == ["CTO", "CEO"]
