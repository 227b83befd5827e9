"""The backfill command as users run it: a config file, a real process, SIGKILL in the middle, --resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from process_support import alive, children_of
from runs_support import connection_config
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from crmsync.cli import app
from crmsync.store import db
from crmsync.store.models import ExternalRef, Lead, SyncRun

CRMSYNC = [sys.executable, "-m", "crmsync.cli"]


def write_config(tmp_path: Path, orgs, database_url: str | None = None, **a_options) -> Path:
    org_a, org_b = orgs
    config = {
        "database_url": database_url or f"sqlite:///{tmp_path / 'cli.db'}",
        "connections": [connection_config("sf-a", org_a, {"Lead": "both"}, **a_options),
                        connection_config("sf-b", org_b, {"Lead": "push"})],
    }
    config["connections"][0]["ca_bundle"] = str(config["connections"][0]["ca_bundle"])
    config["connections"][1]["ca_bundle"] = str(config["connections"][1]["ca_bundle"])
    path = tmp_path / "crmsync.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def store_of(config: Path) -> Engine:
    return db.make_engine(yaml.safe_load(config.read_text(encoding="utf-8"))["database_url"])


def stored(config: Path) -> tuple[int, int, int]:
    """(leads, external refs of sf-a, distinct sf-a ids among them)."""
    engine = store_of(config)
    with engine.connect() as conn:
        leads = conn.execute(select(func.count()).select_from(Lead)).scalar()
        refs = conn.execute(select(func.count()).select_from(ExternalRef).where(ExternalRef.system == "sf-a")).scalar()
        distinct = conn.execute(select(func.count(func.distinct(ExternalRef.external_id)))
                                .where(ExternalRef.system == "sf-a")).scalar()
    engine.dispose()
    return int(leads or 0), int(refs or 0), int(distinct or 0)


def pages_checkpointed(config: Path) -> bool:
    engine = store_of(config)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM checkpoint WHERE stream = 'backfill:Lead'")).scalar())
    except Exception:  # the table may not exist yet
        return False
    finally:
        engine.dispose()


def test_backfill_killed_with_sigkill_then_resumed_stores_every_record_exactly_once(orgs, tmp_path,
                                                                                    store_url) -> None:
    """On both stores: the kill leaves no process behind (the forked mapping worker dies with its parent, so on
    PostgreSQL no connection it inherited stays idle in transaction holding the store's write lock), and
    --resume finishes."""
    org_a, _ = orgs
    org_a.seed("Lead", 1600)
    config = write_config(tmp_path, orgs, store_url, page_size=200)
    env = {**os.environ, "CRMSYNC_CONFIG": str(config)}
    env.pop("CRMSYNC_SECRET_KEY", None)
    assert subprocess.run([*CRMSYNC, "db", "upgrade"], env=env, capture_output=True).returncode == 0
    # Slow pages so the kill lands mid-run: every query page takes 0.15 s.
    org_a.fault(kind="slow", path="/services/data/*/query/*", count=None, delay_seconds=0.15)
    process = subprocess.Popen([*CRMSYNC, "backfill", "sf-a"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not pages_checkpointed(config) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    time.sleep(0.2)
    workers = children_of(process.pid)
    assert workers, "the backfill forked no mapping worker"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 5
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, workers)), "the mapping worker outlived the killed backfill"
    org_a.admin("DELETE", "faults")
    leads_before, _, _ = stored(config)
    assert 0 < leads_before < 1600, f"the kill did not land mid-run ({leads_before} stored)"

    resumed = subprocess.run([*CRMSYNC, "backfill", "sf-a", "--resume"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert stored(config) == (1600, 1600, 1600)
    # The resumed run started where the killed one stopped, not from the beginning.
    engine = store_of(config)
    with engine.connect() as conn:
        runs = conn.execute(select(SyncRun.status, SyncRun.counts).order_by(SyncRun.started_at)).all()
    engine.dispose()
    assert [status for status, _ in runs] == ["crashed", "ok"]
    assert runs[1].counts["read"] < 1600 and runs[1].counts.get("created", 0) == 1600 - leads_before


def test_backfill_command_dry_run_prints_the_plan_and_writes_nothing(orgs, tmp_path) -> None:
    org_a, _ = orgs
    org_a.seed("Lead", 5)
    config = write_config(tmp_path, orgs)
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--config", str(config), "backfill", "sf-a", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: nothing written" in result.output and "Fields that would change" in result.output
    assert stored(config) == (0, 0, 0)

    result = runner.invoke(app, ["--config", str(config), "backfill", "sf-a", "--since", "2020-01-01"])
    assert result.exit_code == 0, result.output
    assert stored(config) == (5, 5, 5)
    wide = {"COLUMNS": "200"}
    status = runner.invoke(app, ["--config", str(config), "status"], env=wide)
    assert status.exit_code == 0 and "sf-a" in status.output and "backfill" in status.output
    outbox = runner.invoke(app, ["--config", str(config), "outbox", "list"], env=wide)
    assert outbox.output.count("sf-b") == 5


def test_backfill_command_errors_are_one_line(orgs, tmp_path) -> None:
    config = write_config(tmp_path, orgs)
    runner = CliRunner()
    runner.invoke(app, ["--config", str(config), "db", "upgrade"])
    result = runner.invoke(app, ["--config", str(config), "backfill", "nope"])
    assert result.exit_code == 1 and "no connection named 'nope'" in result.output
    result = runner.invoke(app, ["--config", str(config), "backfill", "sf-a", "--since", "yesterday"])
    assert result.exit_code == 1 and "is not a date" in result.output
    result = runner.invoke(app, ["--config", str(config), "backfill", "sf-a", "--object", "Contact"])
    assert result.exit_code == 1 and "does not pull Contact" in result.output
