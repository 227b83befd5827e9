"""End to end: Salesforce pages read through the SDK land in a canonical SQLite store via the one ingest path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from salesforce_connector_support import SalesforceOrgAdmin
from sqlalchemy import Engine, func, select

from crmsync.config.policy import MergePolicy
from crmsync.connectors.salesforce import SalesforceConnector
from crmsync.mappings.loader import load_mappings
from crmsync.store import db
from crmsync.store.models import Checkpoint, ExternalRef, Lead
from crmsync.sync_engine.ingest import CheckpointUpdate, Ingestor


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'crmsync.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()


def test_salesforce_leads_land_in_the_canonical_store(
    org: SalesforceOrgAdmin, connector: SalesforceConnector, store: Engine
) -> None:
    org.seed("Lead", 450)
    ingestor = Ingestor(store, load_mappings(), MergePolicy())
    pages, errors = 0, []
    for page in connector.read("Lead", None):
        result = ingestor.ingest_page(page.records, "run-1", CheckpointUpdate(connector.name, page.stream, page.cursor))
        errors += [error["error"] for error in result.errors]
        pages += 1
    assert pages == 3
    assert errors == []
    landed = 450
    source = {row["Email"]: row for row in org.records("Lead")}
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Lead)).scalar_one() == landed
        refs = conn.execute(select(ExternalRef.system, ExternalRef.object)).all()
        leads = conn.execute(select(Lead.email, Lead.last_name, Lead.company_name)).all()
        [checkpoint] = conn.execute(select(Checkpoint.cursor).where(Checkpoint.connection == connector.name)).all()
    assert set(refs) == {(connector.name, "Lead")} and len(refs) == landed
    for email, last_name, company in leads:
        assert (last_name, company) == (source[email]["LastName"], source[email]["Company"])
    assert len(checkpoint.cursor["last_ids"]) == 450  # the stored cursor resumes after everything ingested
    assert [page.records for page in connector.read("Lead", checkpoint.cursor)] == [[], [], []]
