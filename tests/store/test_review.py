"""Conflict resolution and record merges against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crmsync.config.policy import MergePolicy
from crmsync.errors import CrmsyncError
from crmsync.store.models import Activity, ChangeLog, Conflict, ExternalRef, Lead, OutboxItem
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.outbox import OutboxRoutes, Route
from crmsync.sync_engine.records import SourceRecord
from crmsync.sync_engine.review import resolve_conflict

T0 = datetime(2026, 11, 1, tzinfo=UTC)
POLICY = MergePolicy.model_validate({"entities": {"lead": {"lead_status": "manual"}}})


def rows(engine, model, *where):
    with engine.connect() as conn:
        return list(conn.execute(select(model).where(*where)).mappings())


def status_conflict(engine, mappings) -> tuple[Ingestor, Any]:
    """Salesforce and HubSpot disagree on a lead's status, which the policy leaves to a person."""
    ingestor = Ingestor(engine, mappings, POLICY)
    ingestor.ingest_page([SourceRecord("salesforce", "Lead", "1", T0, {
        "Email": "a@x.io", "LastName": "A", "Status": "Working - Contacted"})], "r1")
    ingestor.ingest_page([SourceRecord("hubspot", "contacts", "9", T0, {
        "properties": {"email": "a@x.io", "hs_lead_status": "UNQUALIFIED"}})], "r2")
    [conflict] = rows(engine, Conflict)
    return ingestor, conflict


def test_resolving_a_field_conflict_takes_that_systems_value(engine, mappings):
    _ingestor, conflict = status_conflict(engine, mappings)
    with pytest.raises(CrmsyncError, match="must be one of the systems"):
        resolve_conflict(engine, conflict["id"], "zoho", POLICY)
    assert "unqualified" in resolve_conflict(engine, conflict["id"], "hubspot", POLICY)
    assert rows(engine, Lead)[0]["lead_status"] == "unqualified"
    assert rows(engine, Conflict)[0]["status"] == "resolved"
    assert rows(engine, ChangeLog)[-1]["kind"] == "resolve"
    with pytest.raises(CrmsyncError, match="already resolved"):
        resolve_conflict(engine, conflict["id"], "hubspot", POLICY)


def test_resolving_an_identity_conflict_merges_and_keeps_history(engine, mappings):
    ingestor = Ingestor(engine, mappings, POLICY)
    ingestor.ingest_page([SourceRecord("salesforce", "Lead", "1", T0, {
        "Email": "a@x.io", "Phone": "+14155550101", "LastName": "Turing"})], "r1")
    ingestor.ingest_page([SourceRecord("salesforce", "Lead", "2", T0, {
        "Email": "alan@x.io", "Phone": "+14155550101", "LastName": "Turing", "City": "London"})], "r2")
    [conflict] = rows(engine, Conflict)
    survivor = conflict["candidates"][0]["canonical_id"]
    absorbed = conflict["candidates"][1]["canonical_id"]
    with engine.begin() as conn:
        conn.execute(Activity.__table__.insert().values(id="call1", kind="call", lead_id=absorbed, custom={},
                                                        created_at=T0, updated_at=T0))
    resolve_conflict(engine, conflict["id"], survivor, POLICY)
    live = rows(engine, Lead, Lead.merged_into.is_(None))
    assert [r["id"] for r in live] == [survivor] and live[0]["city"] == "London"
    assert rows(engine, Lead, Lead.id == absorbed)[0]["merged_into"] == survivor
    assert {r["canonical_id"] for r in rows(engine, ExternalRef)} == {survivor}
    assert rows(engine, Activity)[0]["lead_id"] == survivor
    assert {r["kind"] for r in rows(engine, ChangeLog, ChangeLog.canonical_id == absorbed)} == {"create", "merge"}


def test_a_decision_is_written_back_and_an_older_assertion_does_not_reopen_it(engine, mappings):
    routes = OutboxRoutes([Route("salesforce", "lead", "Lead"), Route("hubspot", "lead", "contacts")])
    ingestor, conflict = status_conflict(engine, mappings)
    with engine.begin() as conn:
        conn.execute(OutboxItem.__table__.delete())
    resolve_conflict(engine, conflict["id"], "hubspot", POLICY, routes)
    # The decision goes to the system that said otherwise, like any change; not back to the one it came from.
    assert [(r["target"], r["fields"]) for r in rows(engine, OutboxItem)] == [("salesforce", "lead_status")]
    # Salesforce's copy changed before the decision was made (read only now): it does not reopen the question.
    ingestor.ingest_page([SourceRecord("salesforce", "Lead", "1", T0 + timedelta(minutes=1), {
        "Email": "a@x.io", "LastName": "A", "Status": "Closed - Converted"})], "r3")
    assert rows(engine, Lead)[0]["lead_status"] == "unqualified"
    assert [c["status"] for c in rows(engine, Conflict)] == ["resolved"]
    # An edit made after the decision is a new disagreement for a person to decide.
    later = datetime.now(UTC) + timedelta(days=1)
    ingestor.ingest_page([SourceRecord("salesforce", "Lead", "1", later, {
        "Email": "a@x.io", "LastName": "A", "Status": "Open - Not Contacted"})], "r4")
    assert [c["status"] for c in rows(engine, Conflict)] == ["resolved", "open"]
