"""A Bulk API 2.0 backfill stopped part-way resumes where it stopped: `crmsync backfill --resume` hands the
connector the cursor of the last stored page, which names the job and the locator of the next result page, so
the resumed run asks the org only for the rest; a job the org no longer has is read again from the start."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from salesforce_connector_support import TEST_DEFAULTS, RowsServed, SalesforceOrgAdmin, ids_of
from sqlalchemy import func, select

from crmsync.config.settings import Settings
from crmsync.connectors.salesforce import SalesforceConnector
from crmsync.store import db
from crmsync.store.models import ExternalRef, Lead
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.ingest import PageResult
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace

LEADS, PAGE = 3000, 500


class StopAfter:
    """A run observer that asks the run to stop once `pages` pages are stored (as Ctrl-C or a kill would)."""

    wants_estimate = False

    def __init__(self, pages: int) -> None:
        self.pages, self.stored, self.stop = pages, 0, threading.Event()

    def stream_started(self, stream: str, estimate: int | None) -> None:
        return None

    def page_stored(self, stream: str, result: PageResult) -> None:
        self.stored += 1
        if self.stored >= self.pages:
            self.stop.set()


@pytest.fixture
def settings(org: SalesforceOrgAdmin, tmp_path: Path) -> Iterator[Settings]:
    credentials = org.endpoint.credentials
    options = {**TEST_DEFAULTS, "bulk_threshold": 0, "bulk_page_size": PAGE}
    settings = Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "backfill": {"mapping_worker": False},
        "connections": [{
            "name": "sf", "system": "salesforce", "base_url": org.base_url, "ca_bundle": org.endpoint.ca_bundle,
            "credentials": {key: credentials[key] for key in ("client_id", "client_secret", "username", "password")},
            "objects": {"Lead": "pull"}, "options": options}],
    })
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    engine.dispose()
    yield settings


def _backfill(settings: Settings, *, resume: bool, observer: StopAfter | None = None) -> tuple[str, int]:
    """One `crmsync backfill sf` run in a fresh workspace (as a new process has): (status, rows the org sent)."""
    workspace = Workspace(settings, token_store=NoTokenStore())
    try:
        rows = RowsServed(workspace.connector("sf"))  # type: ignore[arg-type]
        runner = SyncRunner(workspace, "sf", observer=observer, stop=observer.stop if observer else None)
        summary = runner.backfill(["Lead"], resume=resume)
        return summary.status, rows.bulk
    finally:
        workspace.close()
        workspace.engine.dispose()


def _stored(settings: Settings) -> tuple[int, int]:
    engine = db.make_engine(settings.database_url)
    with engine.connect() as conn:
        leads = conn.execute(select(func.count()).select_from(Lead)).scalar_one()
        refs = conn.execute(select(func.count(func.distinct(ExternalRef.external_id)))
                            .where(ExternalRef.system == "sf")).scalar_one()
    engine.dispose()
    return leads, refs


def test_a_stopped_bulk_backfill_resumes_from_the_next_result_page(
    org: SalesforceOrgAdmin, settings: Settings
) -> None:
    org.seed("Lead", LEADS)
    status, first = _backfill(settings, resume=False, observer=StopAfter(2))
    assert status == "stopped" and first < LEADS
    assert _stored(settings) == (2 * PAGE, 2 * PAGE)
    status, resumed = _backfill(settings, resume=True)
    assert status == "ok"
    assert resumed == LEADS - 2 * PAGE  # only the pages not stored yet (a fresh job re-read all 3,000)
    assert _stored(settings) == (LEADS, LEADS)


def test_a_resume_whose_job_is_gone_reads_the_window_again_and_loses_nothing(
    org: SalesforceOrgAdmin, settings: Settings
) -> None:
    org.seed("Lead", LEADS)
    assert _backfill(settings, resume=False, observer=StopAfter(2))[0] == "stopped"
    token = org.login()["access_token"]
    [job] = [job for job in org.rest("GET", "jobs/query", token).json()["records"] if job["object"] == "Lead"]
    assert org.rest("DELETE", f"jobs/query/{job['id']}", token).status_code == 204
    status, resumed = _backfill(settings, resume=True)
    assert (status, resumed) == ("ok", LEADS)
    assert _stored(settings) == (LEADS, LEADS)


def test_an_intermediate_bulk_cursor_continues_the_job_and_the_last_one_holds_the_watermark(
    org: SalesforceOrgAdmin, make_connector: Any
) -> None:
    org.seed("Lead", 1200)
    connector: SalesforceConnector = make_connector(bulk_threshold=0, bulk_page_size=PAGE)
    pages = list(connector.read("Lead", None))
    assert [len(page.records) for page in pages] == [500, 500, 200]
    resumed_connector: SalesforceConnector = make_connector(bulk_threshold=0, bulk_page_size=PAGE)
    rows = RowsServed(resumed_connector)
    resumed = list(resumed_connector.read("Lead", pages[0].cursor))
    assert ids_of(resumed) == ids_of(pages)[PAGE:] and rows.bulk == 700
    assert resumed[-1].cursor == pages[-1].cursor  # the same watermark, and the job's own time as the read's
    assert len(pages[-1].cursor["last_ids"]) == 1200 and "queried_at" in pages[-1].cursor
