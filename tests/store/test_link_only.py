"""A Five9 caller's number links a call to the lead that has it, and never makes a lead of its own."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from crmsync.config.policy import MergePolicy
from crmsync.store.models import Activity, ExternalRef, Lead
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.records import SourceRecord

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def call(call_id: str, phone: str) -> list[SourceRecord]:
    return [SourceRecord("five9", "contacts", phone, T0, {"phone": phone}),
            SourceRecord("five9", "calls", call_id, T0, {"call_id": call_id, "call_type": "Inbound", "ani": phone,
                                                         "person_phone": phone, "started_at": T0.isoformat()})]


def test_an_unknown_caller_makes_no_lead_and_a_known_one_is_linked(engine, mappings) -> None:
    ingestor = Ingestor(engine, mappings, MergePolicy())
    ingestor.ingest_page([SourceRecord("salesforce", "Lead", "00Q1", T0, {
        "Id": "00Q1", "LastName": "Known", "Phone": "(415) 555-0100"})], "r0")
    unknown = ingestor.ingest_page(call("c1", "+14155550199"), "r1")
    known = ingestor.ingest_page(call("c2", "+14155550100"), "r2")
    assert (unknown.counts["unmatched"], unknown.counts["created"]) == (1, 1)  # the call only
    assert (known.counts["created"], known.counts["updated"]) == (1, 0)
    with engine.connect() as conn:
        leads = conn.execute(select(Lead.id)).scalars().all()
        calls = dict(conn.execute(select(Activity.id, Activity.lead_id)).all())
        five9_refs = conn.execute(select(ExternalRef.external_id).where(ExternalRef.object == "contacts")).scalars()
        assert list(five9_refs) == ["+14155550100"]  # the unknown number is not remembered: it may match later
    assert len(leads) == 1 and set(calls.values()) == {None, leads[0]}
