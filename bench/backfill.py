"""Backfill throughput: N Salesforce leads from the sandbox over HTTPS through the whole path into SQLite,
against a plain sqlite3 insert of the same mapped rows committing at the same page size, in one run.

The sandbox runs in its own process (`crmsync sandbox up`), so this process's peak RSS is crmsync's alone:
it must not grow with N. The engine side is `SyncRunner.backfill` exactly as `crmsync backfill` runs it
(REST query pages of `--page-size`, one transaction per page with its checkpoint, the outbox hook).
The baseline then streams the rows the engine stored (the mapped rows) out of its database and times
only their insertion into the lead table's own DDL with plain sqlite3. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from crmsync.config.settings import Settings
from crmsync.store import db
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace

LEAD_COLUMNS = ["id", "email", "phone", "first_name", "last_name", "title", "company_name", "lead_status", "source",
                "street", "city", "state", "postal_code", "country", "owner", "custom", "tags", "created_at",
                "updated_at"]


def start_sandbox(ca_dir: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen([sys.executable, "-m", "crmsync.cli", "sandbox", "up", "--json", "--vendors",
                                "salesforce", "--ca-dir", str(ca_dir)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit("the sandbox did not start")
    return process, json.loads(line)


def seed(endpoint: dict[str, Any], n: int) -> float:
    started = time.perf_counter()
    with requests.Session() as http:
        http.trust_env = False
        http.verify = endpoint["ca_bundle"]
        for done in range(0, n, 50_000):
            response = http.post(f"{endpoint['base_url']}/__sandbox/seed",
                                 json={"object": "Lead", "count": min(50_000, n - done), "seed": 7}, timeout=600)
            response.raise_for_status()
    return time.perf_counter() - started


def run_engine(database: Path, endpoint: dict[str, Any], page_size: int) -> tuple[float, dict[str, int]]:
    credentials = endpoint["credentials"]
    settings = Settings.model_validate({
        "database_url": f"sqlite:///{database}",
        "connections": [{
            "name": "salesforce", "system": "salesforce", "base_url": endpoint["base_url"],
            "ca_bundle": endpoint["ca_bundle"], "objects": {"Lead": "pull"},
            "credentials": {k: credentials[k] for k in ("client_id", "client_secret", "username", "password")},
            "options": {"page_size": page_size, "bulk_threshold": None, "lookback_seconds": 0},
        }],
    })
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    started = time.perf_counter()
    try:
        summary = SyncRunner(workspace, "salesforce").backfill()
    finally:
        workspace.close()
    elapsed = time.perf_counter() - started
    if summary.status != "ok":
        raise SystemExit(f"backfill {summary.status}: {summary.error}")
    engine.dispose()
    return elapsed, dict(summary.totals())


def run_raw(source: Path, target: Path, page_size: int) -> float:
    """The engine's stored (mapped) lead rows, re-inserted with plain sqlite3, one commit per page."""
    from merge import lead_table_ddl  # bench/merge.py: the lead table's own DDL

    read = sqlite3.connect(source)
    write = sqlite3.connect(target)
    write.execute("PRAGMA journal_mode=WAL")
    write.execute("PRAGMA synchronous=NORMAL")
    for statement in lead_table_ddl():
        write.execute(statement)
    columns = ", ".join(LEAD_COLUMNS)
    insert = f"INSERT INTO lead ({columns}) VALUES ({', '.join('?' for _ in LEAD_COLUMNS)})"
    rows = read.execute(f"SELECT {columns} FROM lead")
    elapsed = 0.0
    while page := rows.fetchmany(page_size):
        started = time.perf_counter()
        write.executemany(insert, page)
        write.commit()
        elapsed += time.perf_counter() - started
    read.close()
    write.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process, endpoint = start_sandbox(Path(tmp) / "ca")
        try:
            seed_s = seed(endpoint, args.n)
            engine_s, counts = run_engine(Path(tmp) / "engine.db", endpoint, args.page_size)
        finally:
            process.terminate()
            process.wait(timeout=30)
        raw_s = run_raw(Path(tmp) / "engine.db", Path(tmp) / "raw.db", args.page_size)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if counts.get("created") != args.n:
        raise SystemExit(f"expected {args.n} leads created, got {counts}")
    records_per_s, raw_per_s = args.n / engine_s, args.n / raw_s
    print(f"seeded {args.n} leads in {seed_s:.1f}s; backfill {engine_s:.1f}s {counts}; raw sqlite3 {raw_s:.2f}s "
          f"(pid {os.getpid()})", file=sys.stderr)
    print(json.dumps({"n": args.n, "page_size": args.page_size, "records_per_s": round(records_per_s),
                      "raw_records_per_s": round(raw_per_s), "ratio": round(records_per_s / raw_per_s, 3),
                      "peak_rss_mb": round(peak_rss_mb, 1)}))


if __name__ == "__main__":
    main()
