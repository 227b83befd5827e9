"""A source asserts only what changed in it since crmsync last saw the record, and a system whose value lost the
merge is set to the winning one (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crmsync.config.policy import MergePolicy
from crmsync.store.models import ExternalRef, Lead, OutboxItem
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.outbox import OutboxRoutes, Route, outbox_hook
from crmsync.sync_engine.records import SourceRecord

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SF_WRITES = {"email", "phone", "first_name", "last_name", "title", "company_name", "lead_status", "source", "street",
             "city", "state", "postal_code", "country"}


def sf_lead(minutes: int, **fields: Any) -> SourceRecord:
    return SourceRecord("salesforce", "Lead", "00Q1", T0 + timedelta(minutes=minutes), {"Id": "00Q1", **fields})


def hs_contact(minutes: int, **props: Any) -> SourceRecord:
    return SourceRecord("hubspot", "contacts", "901", T0 + timedelta(minutes=minutes),
                        {"id": "901", "properties": props})


@pytest.fixture
def ingestor(engine, mappings) -> Ingestor:
    ingestor = Ingestor(engine, mappings, MergePolicy.model_validate({"system_priority": ["salesforce", "hubspot"]}))
    routes = OutboxRoutes([Route("salesforce", "lead", "Lead", SF_WRITES.__contains__),
                           Route("hubspot", "lead", "contacts", SF_WRITES.__contains__)])
    ingestor.page_hooks.append(outbox_hook(routes, "run"))
    return ingestor


def lead(engine) -> Any:
    with engine.connect() as conn:
        [row] = conn.execute(select(Lead)).mappings().all()
        return row


def queued(engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {row.target: row.fields for row in conn.execute(select(OutboxItem))}


def test_an_edit_of_one_field_does_not_reassert_the_others_at_its_time(engine, ingestor) -> None:
    """Salesforce LastName Brown -> Smith, then a later HubSpot edit of the city: HubSpot's record still says
    Brown (it has not been written to yet), and that stale value must not win by its newer record time."""
    ingestor.ingest_page([sf_lead(0, Email="pat@x.io", LastName="Brown", City="Boston")], "r1")
    ingestor.ingest_page([hs_contact(1, email="pat@x.io", lastname="Brown", city="Boston")], "r2")
    ingestor.ingest_page([sf_lead(10, Email="pat@x.io", LastName="Smith", City="Boston")], "r3")
    ingestor.ingest_page([hs_contact(11, email="pat@x.io", lastname="Brown", city="Denver")], "r4")
    row = lead(engine)
    assert (row["last_name"], row["city"]) == ("Smith", "Denver")


def test_a_reread_with_nothing_changed_asserts_nothing(engine, ingestor) -> None:
    ingestor.ingest_page([sf_lead(0, Email="pat@x.io", LastName="Brown", Title="CTO")], "r1")
    ingestor.ingest_page([hs_contact(5, email="pat@x.io", jobtitle="CEO")], "r2")
    # Salesforce's record is touched later (a field crmsync does not map): same values, a newer time.
    result = ingestor.ingest_page([sf_lead(9, Email="pat@x.io", LastName="Brown", Title="CTO")], "r3")
    assert result.counts["updated"] == 0 and lead(engine)["title"] == "CEO"


def test_a_system_whose_value_lost_is_set_to_the_winner(engine, ingestor) -> None:
    """HubSpot's city edit (older) reaches crmsync after Salesforce's newer one: HubSpot keeps its losing value
    unless crmsync writes the winner there."""
    ingestor.ingest_page([sf_lead(0, Email="pat@x.io", LastName="Brown", City="Boston")], "r1")
    ingestor.ingest_page([hs_contact(1, email="pat@x.io", lastname="Brown", city="Boston")], "r2")
    ingestor.ingest_page([sf_lead(20, Email="pat@x.io", LastName="Brown", City="Rome")], "r3")
    with engine.begin() as conn:
        conn.execute(OutboxItem.__table__.delete())  # Rome's push to HubSpot went out and was lost there
    result = ingestor.ingest_page([hs_contact(15, email="pat@x.io", lastname="Brown", city="Oslo")], "r4")
    assert lead(engine)["city"] == "Rome"
    assert result.corrections == {("lead", lead(engine)["id"]): {"hubspot": {"city"}}}
    assert queued(engine) == {"hubspot": "city"}


def test_a_partial_record_asserts_its_fields_and_keeps_what_was_seen_of_the_others(engine, ingestor) -> None:
    ingestor.ingest_page([hs_contact(0, email="pat@x.io", lastname="Brown", city="Boston")], "r1")
    delta = SourceRecord("hubspot", "contacts", "901", T0 + timedelta(minutes=5),
                         {"id": "901", "properties": {"city": "Denver"}}, partial=True)
    ingestor.ingest_page([delta], "r2")
    with engine.connect() as conn:
        seen = conn.execute(select(ExternalRef.seen_values)).scalar_one()
    assert (seen["city"], seen["last_name"], lead(engine)["city"]) == ("Denver", "Brown", "Denver")


def test_owners_are_kept_per_system_and_queue_nothing(engine, ingestor) -> None:
    """Each system's owner is its own user id: one system's never replaces another's, and a change of one is
    news for no other system (owners are never written back)."""
    ingestor.ingest_page([sf_lead(0, Email="pat@x.io", LastName="Brown", OwnerId="005A")], "r1")
    ingestor.ingest_page([hs_contact(1, email="pat@x.io", lastname="Brown", hubspot_owner_id="77")], "r2")
    with engine.begin() as conn:
        conn.execute(OutboxItem.__table__.delete())
    result = ingestor.ingest_page([sf_lead(5, Email="pat@x.io", LastName="Brown", OwnerId="005B")], "r3")
    assert lead(engine)["owners"] == {"salesforce": "005B", "hubspot": "77"}
    assert result.counts["updated"] == 1 and queued(engine) == {}
