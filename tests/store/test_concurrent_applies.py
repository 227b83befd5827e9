"""Two page applies at once (a scheduled pass beside the webhook processor, a backfill beside `serve`), on SQLite
and PostgreSQL: the second one decides on what the first committed, never on what it read before.

The first apply is held open inside its transaction, after its writes, by a page hook; the second starts then
and must wait for it. Whatever the timing, the outcome is the one of applying the two pages one after the other.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from crmsync.config.policy import MergePolicy
from crmsync.errors import StoreError
from crmsync.store import db
from crmsync.store.models import ExternalRef, Lead
from crmsync.store.provenance import unpack
from crmsync.sync_engine.ingest import Ingestor, PageResult
from crmsync.sync_engine.records import SourceRecord

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
WAIT = 10.0  # seconds a step may take before the test gives up


def sf_lead(ext: str, minutes: int, **fields: Any) -> SourceRecord:
    return SourceRecord("salesforce", "Lead", ext, T0 + timedelta(minutes=minutes), {"Id": ext, **fields})


def hs_contact(ext: str, minutes: int, **props: Any) -> SourceRecord:
    return SourceRecord("hubspot", "contacts", ext, T0 + timedelta(minutes=minutes), {"id": ext, "properties": props})


class HeldApply:
    """Applies a page in a thread and holds its transaction open, writes done, until `release`."""

    def __init__(self, engine: Engine, mappings: Any, page: list[SourceRecord], run_id: str) -> None:
        self.written, self.released = threading.Event(), threading.Event()
        self.ingestor = Ingestor(engine, mappings, MergePolicy())
        self.ingestor.page_hooks.append(self._hold)
        self.thread = threading.Thread(target=self.ingestor.ingest_page, args=(page, run_id), daemon=True)

    def _hold(self, _conn: Any, _result: PageResult, _records: Any) -> None:
        self.written.set()
        assert self.released.wait(WAIT), "the test never released the held page"

    def start(self) -> None:
        self.thread.start()
        assert self.written.wait(WAIT), "the held page never got to its hook"

    def release(self) -> None:
        self.released.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


def apply_while_held(engine: Engine, mappings: Any, held: HeldApply, page: list[SourceRecord]) -> PageResult:
    """Start `page` while `held` is open, let `held` commit once `page` waits for it, return `page`'s result."""
    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            outcome["result"] = Ingestor(engine, mappings, MergePolicy()).ingest_page(page, "run-second")
        except BaseException as exc:  # reported by the test below
            outcome["error"] = exc

    held.start()
    thread = threading.Thread(target=second, daemon=True)
    thread.start()
    _until_waiting(engine, thread)
    held.release()
    thread.join(WAIT)
    assert not thread.is_alive(), "the second apply never finished"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _until_waiting(engine: Engine, thread: threading.Thread) -> None:
    """Give the second apply time to reach the lock it must wait for (PostgreSQL shows the wait; SQLite
    cannot, so a short pause stands in: had the apply not got there yet, it starts after the commit, which
    is the same outcome)."""
    if engine.dialect.name != "postgresql":
        thread.join(0.3)
        return
    deadline = time.monotonic() + WAIT
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND wait_event_type = 'Lock'")).scalar_one()
            conn.rollback()  # a new transaction per look: pg_stat_activity is a snapshot per transaction
            if waiting or not thread.is_alive():
                return
            time.sleep(0.01)
        activity = conn.execute(text("SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity "
                                     "WHERE datname = current_database()")).all()
    pytest.fail(f"the second apply never waited for the first: {activity}")


def leads(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(Lead)).mappings())


def test_an_apply_started_meanwhile_merges_on_what_the_open_one_commits(engine, mappings):
    Ingestor(engine, mappings, MergePolicy()).ingest_page(
        [sf_lead("00Q1", 0, Email="ada@x.io", LastName="Lovelace", Title="CTO", Phone="(415) 555-2671")], "run1")
    held = HeldApply(engine, mappings, [hs_contact("101", 10, email="ada@x.io", jobtitle="CEO")], "run-held")
    second = apply_while_held(engine, mappings, held, [sf_lead("00Q1", 20, Email="ada@x.io", LastName="Lovelace",
                                                               Title="Chief Scientist", Phone="(415) 555-0199")])
    [lead] = leads(engine)
    provenance = unpack(lead["provenance"])
    # The Salesforce edit is newest: its title wins over HubSpot's, which it could only beat having seen it.
    assert (lead["title"], lead["phone"]) == ("Chief Scientist", "+14155550199")
    assert provenance["title"][:1] == provenance["phone"][:1] == ["salesforce"]
    assert provenance["title"][2] == "run-second"
    # Logged against the committed value.
    assert second.changes[0]["changes"]["title"] == ["CEO", "Chief Scientist"]


def test_an_apply_started_meanwhile_keeps_the_fields_it_does_not_change(engine, mappings):
    Ingestor(engine, mappings, MergePolicy()).ingest_page(
        [sf_lead("00Q1", 0, Email="ada@x.io", LastName="Lovelace", Title="CTO")], "run1")
    held = HeldApply(engine, mappings, [hs_contact("101", 10, email="ada@x.io", jobtitle="CEO")], "run-held")
    apply_while_held(engine, mappings, held, [sf_lead("00Q1", 20, Email="ada@x.io", LastName="Byron")])
    [lead] = leads(engine)
    provenance = unpack(lead["provenance"])
    assert (lead["title"], lead["last_name"]) == ("CEO", "Byron")
    # Provenance is one column: the second apply's copy must include what the held one wrote there.
    assert provenance["title"][:1] == ["hubspot"] and provenance["last_name"][:1] == ["salesforce"]


def test_two_applies_meeting_the_same_new_person_make_one_record(engine, mappings):
    held = HeldApply(engine, mappings, [hs_contact("101", 0, email="grace@x.io", lastname="Hopper")], "run-held")
    second = apply_while_held(engine, mappings, held, [sf_lead("00Q7", 5, Email="Grace@x.io", LastName="Hopper",
                                                               Title="Admiral")])
    [lead] = leads(engine)
    assert (lead["email"], lead["title"]) == ("grace@x.io", "Admiral")
    assert (second.counts["created"], second.counts["updated"]) == (0, 1)
    with engine.connect() as conn:
        linked = {(r.system, r.canonical_id) for r in conn.execute(select(ExternalRef))}
    assert linked == {("hubspot", lead["id"]), ("salesforce", lead["id"])}


def test_a_store_locked_past_the_busy_timeout_is_an_error_that_writes_nothing(tmp_path, mappings):
    path = tmp_path / "crmsync.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as conn:  # the pooled connection the apply gets next: give up after 50 ms
        conn.exec_driver_sql("PRAGMA busy_timeout=50")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the store
    page = [sf_lead("00Q1", 0, Email="ada@x.io", LastName="Lovelace")]
    with pytest.raises(StoreError, match=r"locked by another writer.*run the command again"):
        Ingestor(engine, mappings, MergePolicy()).ingest_page(page, "run1")
    other.execute("ROLLBACK")
    assert leads(engine) == []
    assert Ingestor(engine, mappings, MergePolicy()).ingest_page(page, "run1").counts["created"] == 1
    other.close()
    engine.dispose()
