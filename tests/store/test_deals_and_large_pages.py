"""Reading existing deals back (exact decimals on PostgreSQL) and pages too large for one statement."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import event, func, select

from crmsync.config.policy import MergePolicy
from crmsync.store.models import Deal, OutboxItem
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.outbox import OutboxRoutes, Route, outbox_hook
from crmsync.sync_engine.records import SourceRecord

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def opportunity(ext: str, minutes: int, amount: str) -> SourceRecord:
    return SourceRecord("salesforce", "Opportunity", ext, T0 + timedelta(minutes=minutes),
                        {"Id": ext, "Name": "Big", "Amount": amount, "StageName": "Prospecting"})


def test_an_existing_deal_loads_and_updates_on_both_stores(engine, mappings) -> None:
    """PostgreSQL's NUMERIC result processor was asked for with no column type and raised TypeError."""
    ingestor = Ingestor(engine, mappings, MergePolicy())
    ingestor.ingest_page([opportunity("006A", 0, "100.50")], "r1")
    result = ingestor.ingest_page([opportunity("006A", 5, "250.25")], "r2")
    assert result.counts["updated"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(Deal.amount)).scalar_one() == Decimal("250.25")


def test_a_page_larger_than_one_statement_takes_is_queued_whole(engine, mappings) -> None:
    """PostgreSQL binds at most 65,535 parameters a statement; SQLite as many as it was built for (here its
    limit is lowered to 20,000 to stand for a build's smaller one, e.g. 32,766). A page of 3,000 new leads
    routed to three targets is 9,000 outbox rows of 13 columns."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        event.listen(engine, "connect", lambda raw, _record: raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER,
                                                                          20_000))
    ingestor = Ingestor(engine, mappings, MergePolicy())
    routes = OutboxRoutes([Route(target, "lead", "Lead") for target in ("a", "b", "c")])
    ingestor.page_hooks.append(outbox_hook(routes, "r1"))
    page = [SourceRecord("salesforce", "Lead", f"00Q{i:05d}", T0, {"Id": f"00Q{i:05d}", "LastName": f"L{i}",
                                                                      "Email": f"p{i}@example.com"})
            for i in range(3000)]
    result = ingestor.ingest_page(page, "r1")
    assert result.counts["created"] == 3000 and result.counts["queued"] == 9000
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OutboxItem)).scalar_one() == 9000
