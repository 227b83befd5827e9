"""Killing `crmsync serve` between acknowledging events and processing them loses nothing after restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml
from hubspot_sandbox_support import HubSpotPortalAdmin, hubspot_emulator, portal
from runs_support import hubspot_connection
from sqlalchemy import func, select
from test_webhook_ordering import events
from test_webhook_receiver import signed

from crmsync.store import db
from crmsync.store.models import InboxEvent, Lead

__all__ = ["hubspot_emulator", "portal"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, database: Path, portal: HubSpotPortalAdmin, port: int, hold_seconds: float) -> Path:
    connection = hubspot_connection(portal)
    connection["ca_bundle"] = str(connection["ca_bundle"])
    path.write_text(yaml.safe_dump({
        "database_url": f"sqlite:///{database}", "connections": [connection],
        "server": {"port": port, "inbox_hold_seconds": hold_seconds, "inbox_poll_seconds": 0.05}}), encoding="utf-8")
    return path


def start_serve(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CRMSYNC_CONFIG": str(config)}
    process = subprocess.Popen([sys.executable, "-m", "crmsync.cli", "serve", "--no-scheduler", "--quiet"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("crmsync serve did not come up")


def counts(database: Path) -> tuple[int, int]:
    engine = db.make_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        pending = conn.execute(select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "pending"))
        leads = conn.execute(select(func.count()).select_from(Lead))
        result = (int(pending.scalar() or 0), int(leads.scalar() or 0))
    engine.dispose()
    return result


def test_events_acknowledged_before_a_kill_are_applied_after_the_restart(portal, tmp_path: Path) -> None:
    database, port = tmp_path / "store.db", free_port()
    held = write_config(tmp_path / "held.yaml", database, portal, port, hold_seconds=3600)
    assert subprocess.run([sys.executable, "-m", "crmsync.cli", "--config", str(held), "db", "upgrade"],
                          capture_output=True).returncode == 0
    batch = events(60, contacts=12, seed=3)
    server = start_serve(held, port)
    try:
        url = f"http://127.0.0.1:{port}/webhooks/hs"
        for start in range(0, 60, 20):
            body, headers = signed(portal, url, batch[start:start + 20])
            assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 204
        assert counts(database) == (60, 0)  # acknowledged and stored, not yet processed
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

    restarted = start_serve(write_config(tmp_path / "live.yaml", database, portal, port, hold_seconds=0), port)
    try:
        deadline = time.monotonic() + 20
        while counts(database)[0] and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)
    assert counts(database) == (0, 12)  # every event applied: one lead per contact
