"""Backfill one org, push to the other, then an incremental pass picks up later changes and pushes them."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from crmsync.store.models import ExternalRef, Lead, OutboxItem, SyncRun
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer


def count(workspace: Workspace, model: type, *where: object) -> int:
    with workspace.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar() or 0)


def test_backfill_pushes_every_lead_to_the_other_org_and_reading_it_back_is_an_echo(orgs, workspace) -> None:
    org_a, org_b = orgs
    org_a.seed("Lead", 25)
    summary = SyncRunner(workspace, "sf-a").backfill()
    assert summary.status == "ok", summary.error
    totals = summary.totals()
    assert totals["read"] == 25 and totals["created"] == 25 and totals["failed"] == 0
    assert count(workspace, OutboxItem, OutboxItem.target == "sf-b") == 25

    pushed = OutboxDrainer(workspace).drain()
    assert pushed["sf-b"]["pushed"] == 25, pushed
    assert count(workspace, OutboxItem) == 0
    in_b = org_b.records("Lead")
    assert len(in_b) == 25
    assert {r["Email"] for r in in_b} == {r["Email"] for r in org_a.records("Lead")}
    assert count(workspace, ExternalRef, ExternalRef.system == "sf-b") == 25

    echo = SyncRunner(workspace, "sf-b").incremental()
    assert echo.status == "ok", echo.error
    print(dict(echo.totals()))
    assert echo.totals()["created"] == 0
    assert count(workspace, Lead) == 25
    assert count(workspace, OutboxItem, OutboxItem.target == "sf-a") == 0
    assert count(workspace, SyncRun, SyncRun.status == "ok") == 2


def lead_by_email(org, email: str) -> dict:
    return next(r for r in org.records("Lead") if r["Email"] == email)


def test_incremental_pass_after_backfill_carries_changes_both_ways(orgs, workspace) -> None:
    org_a, org_b = orgs
    org_a.seed("Lead", 10)
    assert SyncRunner(workspace, "sf-a").backfill().status == "ok"
    OutboxDrainer(workspace).drain()
    SyncRunner(workspace, "sf-b").incremental()  # links B's copies (our echo)

    target = org_a.records("Lead")[3]
    org_a.advance(60)
    org_a.update("Lead", target["Id"], Title="Chief Cartographer")
    first = SyncRunner(workspace, "sf-a").incremental()
    assert first.totals()["updated"] == 1, dict(first.totals())
    assert OutboxDrainer(workspace).drain()["sf-b"]["pushed"] == 1
    assert lead_by_email(org_b, target["Email"])["Title"] == "Chief Cartographer"

    # A later edit in B flows back to A, and only to A.
    copy = lead_by_email(org_b, target["Email"])
    org_b.advance(120)
    org_b.update("Lead", copy["Id"], City="Valparaiso")
    second = SyncRunner(workspace, "sf-b").incremental()
    assert second.totals()["updated"] == 1, dict(second.totals())
    assert OutboxDrainer(workspace).drain() == {"sf-a": {"pushed": 1}, "sf-b": {}}
    assert lead_by_email(org_a, target["Email"])["City"] == "Valparaiso"
    assert len(org_a.records("Lead")) == 10 and len(org_b.records("Lead")) == 10


def test_a_dry_run_writes_nothing_and_reports_the_plan(orgs, workspace) -> None:
    org_a, _ = orgs
    org_a.seed("Lead", 12)
    summary = SyncRunner(workspace, "sf-a").backfill(dry_run=True)
    assert summary.totals()["created"] == 12
    assert summary.field_changes["Lead"]["email"] == 12
    for model in (Lead, ExternalRef, OutboxItem, SyncRun):
        assert count(workspace, model) == 0, model


def test_a_429_storm_delays_the_backfill_but_loses_nothing(orgs, make_settings, caplog) -> None:
    org_a, _ = orgs
    org_a.seed("Lead", 450)  # three REST pages of 200
    settings = make_settings()
    settings.connections[0].options.update(max_attempts=6, page_size=200)
    workspace = Workspace(settings, token_store=NoTokenStore())
    # Five 429s in a row on the first query page, then five more on a queryMore page.
    for path in ("/services/data/*/query/", "/services/data/*/query/?*-*"):
        org_a.fault(kind="custom", path=path, status=429, count=5, headers={"Retry-After": "0"},
                    body=[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}])
    try:
        summary = SyncRunner(workspace, "sf-a").backfill()
    finally:
        workspace.close()
    assert summary.status == "ok", summary.error
    assert summary.totals()["created"] == 450
    assert count(workspace, Lead) == 450
    assert org_a.admin("GET", "faults")["pending"] == []  # every injected 429 was met and waited out
    assert sum("HTTP 429" in r.getMessage() for r in caplog.records) == 10


def test_write_back_failures_retry_then_become_dead_letters_that_can_be_retried(orgs, workspace) -> None:
    org_a, org_b = orgs
    org_a.seed("Lead", 3)
    SyncRunner(workspace, "sf-a").backfill()
    org_b.fault(kind="server_error", path="/services/data/*/composite/*", count=None)
    first = OutboxDrainer(workspace, sleep=lambda _: None).drain()
    assert first["sf-b"]["failed"] == 3, first
    assert OutboxDrainer(workspace, sleep=lambda _: None).drain()["sf-b"]["dead"] == 3
    assert count(workspace, OutboxItem, OutboxItem.status == "dead") == 3
    assert org_b.records("Lead") == []

    org_b.admin("DELETE", "faults")
    from crmsync.sync_engine import outbox
    assert outbox.retry(workspace.engine, None) == 3
    assert OutboxDrainer(workspace).drain()["sf-b"]["pushed"] == 3
    assert len(org_b.records("Lead")) == 3


def test_a_drain_asked_to_stop_ends_between_tries_and_loses_nothing(orgs, make_settings) -> None:
    """Ctrl-C (or `serve` shutting down) sets the drain's stop event: it ends at once, even inside a retry wait,
    and the items stay due for the next drain."""
    org_a, org_b = orgs
    org_a.seed("Lead", 3)
    workspace = Workspace(make_settings(outbox={"retry_initial_seconds": 5, "retry_max_seconds": 5,
                                                "max_attempts": 5, "interval_seconds": 1}),
                          token_store=NoTokenStore())
    try:
        SyncRunner(workspace, "sf-a").backfill()
        org_b.fault(kind="server_error", path="/services/data/*/composite/*", count=None)
        stop = threading.Event()
        finished: dict[str, float] = {}

        def drain() -> None:
            OutboxDrainer(workspace, stop=stop).drain()
            finished["at"] = time.monotonic()

        worker = threading.Thread(target=drain)
        worker.start()
        time.sleep(0.5)  # the first write failed; the drain waits before trying again
        stopped_at = time.monotonic()
        stop.set()
        worker.join(timeout=10)
        assert not worker.is_alive() and finished["at"] - stopped_at < 1.0
        assert count(workspace, OutboxItem, OutboxItem.status == "pending") == 3
        org_b.admin("DELETE", "faults")
        assert OutboxDrainer(workspace).drain()["sf-b"]["pushed"] == 3
    finally:
        workspace.close()
