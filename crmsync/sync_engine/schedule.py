"""Scheduled sync: APScheduler in-process, its job store in the canonical store's database.

One interval job per connection (jittered, `max_instances=1`, missed runs coalesced into one) and one
outbox job. Jobs are stored by reference with only the connection name as argument; the functions find
the process's Workspace here, so a job store shared by several `serve` processes stays valid.
The connection lease (see lease.py) keeps two processes from running one connection at once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from crmsync.errors import CrmsyncError
from crmsync.sync_engine.lease import LeaseBusy
from crmsync.sync_engine.runner import RunSummary, SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

log = logging.getLogger("crmsync.schedule")
JOB_TABLE = "apscheduler_jobs"
_active: dict[str, Workspace] = {}
_stopping = threading.Event()


def run_connection(name: str) -> RunSummary | None:
    """The scheduled job of connection `name`: one incremental pass, then push what it changed."""
    workspace = _active.get("workspace")
    if workspace is None:
        log.error("scheduled sync of %s fired with no workspace in this process", name)
        return None
    try:
        summary = SyncRunner(workspace, name, stop=_stopping).incremental()
    except LeaseBusy as exc:
        log.info("%s", exc)
        return None
    except CrmsyncError as exc:  # the SyncRun row has the details; the schedule goes on
        log.error("scheduled sync of %s failed: %s", name, exc)
        return None
    log.info("%s: %s", name, dict(summary.totals()))
    return summary


def drain_outbox() -> dict[str, Counter[str]]:
    workspace = _active.get("workspace")
    if workspace is None:
        return {}
    try:
        results = OutboxDrainer(workspace, stop=_stopping).drain()
    except CrmsyncError as exc:
        log.error("outbox drain failed: %s", exc)
        return {}
    for target, counts in results.items():
        if counts:
            log.info("outbox %s: %s", target, dict(counts))
    return results


def build_scheduler(workspace: Workspace, start_now: bool = True) -> BackgroundScheduler:
    """A scheduler (not started) with a job per enabled connection that pulls, and the outbox job."""
    settings = workspace.settings
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=workspace.engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(max(2, len(workspace.connections) + 1))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=UTC,
    )
    _active["workspace"] = workspace
    _stopping.clear()
    first = datetime.now(UTC) if start_now else None
    wanted = set()
    for connection in workspace.connections:
        if not connection.pulled_objects():
            continue
        job_id = f"sync:{connection.name}"
        wanted.add(job_id)
        scheduler.add_job(f"{__name__}:run_connection", "interval", args=[connection.name], id=job_id,
                          name=f"incremental sync of {connection.name}", seconds=connection.interval_seconds,
                          jitter=connection.jitter_seconds, replace_existing=True, next_run_time=first)
    wanted.add("outbox")
    scheduler.add_job(f"{__name__}:drain_outbox", "interval", id="outbox", name="outbox write-back",
                      seconds=settings.outbox.interval_seconds, replace_existing=True, next_run_time=first)
    scheduler.add_listener(lambda event: _prune(scheduler, wanted), mask=EVENT_SCHEDULER_STARTED)
    return scheduler


def stop(scheduler: BackgroundScheduler) -> None:
    """Ask running passes to stop after their current page, then wait for them."""
    _stopping.set()
    scheduler.shutdown(wait=True)
    _active.pop("workspace", None)


def _prune(scheduler: BackgroundScheduler, wanted: set[str]) -> None:
    # Jobs of connections removed from the configuration stay in the shared job store otherwise.
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("removing scheduled job %s: its connection is no longer configured", job.id)
            job.remove()

