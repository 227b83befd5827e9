"""`crmsync serve`'s scheduler: a job per connection plus the outbox job, in the store's own database."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from crmsync.store.models import OutboxItem, SyncRun
from crmsync.sync_engine import lease
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.schedule import JOB_TABLE, build_scheduler, stop


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_scheduled_passes_pick_up_changes_and_push_them_to_the_other_org(orgs, workspace) -> None:
    org_a, org_b = orgs
    org_a.seed("Lead", 8)
    assert SyncRunner(workspace, "sf-a").backfill().status == "ok"
    scheduler = build_scheduler(workspace)
    scheduler.start()
    try:
        assert {job.id for job in scheduler.get_jobs()} == {"sync:sf-a", "sync:sf-b", "outbox"}
        assert wait_for(lambda: len(org_b.records("Lead")) == 8), "the outbox job did not push the backfill"
        lead = org_a.records("Lead")[0]
        org_a.advance(30)
        org_a.update("Lead", lead["Id"], Title="Head of Tides")
        assert wait_for(lambda: any(r["Title"] == "Head of Tides" for r in org_b.records("Lead"))), \
            "a change made in org A after the backfill never reached org B"
    finally:
        stop(scheduler)
    with workspace.engine.connect() as conn:
        statuses = set(conn.execute(select(SyncRun.connection, SyncRun.status).where(SyncRun.kind == "incremental")))
        jobs = conn.execute(select(func.count()).select_from(__import__("sqlalchemy").table(JOB_TABLE))).scalar()
        pending = conn.execute(select(func.count()).select_from(OutboxItem)).scalar()
    assert {("sf-a", "ok"), ("sf-b", "ok")} <= statuses
    assert jobs == 3  # kept in the store, for the next `serve`
    assert pending == 0
    assert len(org_b.records("Lead")) == 8


def test_a_connection_never_runs_twice_at_once(orgs, workspace) -> None:
    assert lease.acquire(workspace.engine, "sync:sf-a", holder="elsewhere:1")
    try:
        try:
            SyncRunner(workspace, "sf-a").incremental()
        except lease.LeaseBusy as exc:
            assert "sf-a" in str(exc)
        else:
            raise AssertionError("a second run of sf-a started while the first held the lease")
    finally:
        lease.release(workspace.engine, "sync:sf-a", holder="elsewhere:1")
