"""`kill -9` of a backfill with every vendor configured, then `--resume` and passes as users run them (the CLI in
its own processes), on SQLite and PostgreSQL: nothing lost, nothing stored twice, no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from process_support import alive, children_of
from sqlalchemy import func, select, text
from system_support import Sandboxes, settings_for

from crmsync.store import db
from crmsync.store.models import ExternalRef, OutboxItem

CRMSYNC = [sys.executable, "-m", "crmsync.cli"]
LEADS = 1500


def test_a_killed_backfill_resumes_and_the_whole_converges(sandboxes: Sandboxes, store_url: str,
                                                           tmp_path: Path) -> None:
    sf = sandboxes["salesforce"]
    sf.call("POST", "seed", {"object": "Lead", "count": LEADS})
    sandboxes["hubspot"].call("POST", "seed", {"object": "contacts", "count": 5})
    settings = settings_for(sandboxes, store_url)
    raw = json.loads(settings.model_dump_json(exclude={"config_file"}))
    for connection in raw["connections"]:
        connection["credentials"] = {k: v.get_secret_value() for k, v in
                                     settings.connection(connection["name"]).credentials.items()}
        connection["options"] = {**connection["options"], **({"page_size": 200} if connection["name"] ==
                                                                "salesforce" else {})}
    config = tmp_path / "crmsync.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    env = {**os.environ, "CRMSYNC_CONFIG": str(config)}
    assert subprocess.run([*CRMSYNC, "db", "upgrade"], env=env, capture_output=True).returncode == 0
    engine = db.make_engine(store_url)

    def checkpointed() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM checkpoint WHERE stream = 'backfill:Lead'")).scalar())

    sf.call("POST", "faults", {"kind": "slow", "path": "/services/data/*/query*", "count": None,
                               "delay_seconds": 0.15})
    process = subprocess.Popen([*CRMSYNC, "backfill", "salesforce", "--object", "Lead"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not checkpointed() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    time.sleep(0.2)
    workers = children_of(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    time.sleep(0.5)
    assert workers and not any(map(alive, workers)), "a process of the killed backfill is still running"
    sf.call("DELETE", "faults")
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(ExternalRef).where(
            ExternalRef.system == "salesforce")).scalar_one()
    assert 0 < before < LEADS, f"the kill did not land mid-backfill ({before} stored)"

    resumed = subprocess.run([*CRMSYNC, "backfill", "salesforce", "--object", "Lead", "--resume"], env=env,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    for _ in range(2):
        synced = subprocess.run([*CRMSYNC, "sync"], env=env, capture_output=True, text=True, timeout=300)
        assert synced.returncode == 0, synced.stdout[-2000:] + synced.stderr[-2000:]
    with engine.connect() as conn:
        refs = conn.execute(select(ExternalRef.external_id).where(ExternalRef.system == "salesforce",
                                                                 ExternalRef.object == "Lead")).scalars().all()
        dead = conn.execute(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "dead")
                            ).scalar_one()
    engine.dispose()
    assert len(refs) == len(set(refs)) == LEADS + 5  # every Salesforce lead once (HubSpot's five pushed there)
    assert dead == 0
