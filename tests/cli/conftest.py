"""Fixtures for the command-line tests: a configuration file, a store on SQLite and PostgreSQL seeded through the
engine's own ingest path with the demo's bundled records, and the process's logging left as it was found."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_support import CliResult, invoke

from crmsync.config.settings import load_settings
from crmsync.demo.run import DEMO_POLICY, bundled_records
from crmsync.store import db
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.workspace import Workspace

# The demo's three CRMs as configured connections; literal sandbox-style credentials (nothing is contacted).
CRM_CONNECTIONS: list[dict[str, Any]] = [
    {"name": "salesforce", "system": "salesforce", "credentials": {"client_id": "id", "client_secret": "s"},
     "objects": {"Lead": "both", "Opportunity": "both", "Account": "both"}},
    {"name": "hubspot", "system": "hubspot", "credentials": {"access_token": "t"}, "objects": {"contacts": "both"}},
    {"name": "zoho", "system": "zoho", "credentials": {"client_id": "id", "client_secret": "s", "refresh_token": "r"},
     "objects": {"Leads": "both"}},
]


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """Commands configure the root logger; other tests in this process expect it as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CRMSYNC_CONFIG", "CRMSYNC_DATABASE_URL", "CRMSYNC_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def write_config(workdir: Path) -> Callable[..., Path]:
    def write(database_url: str, connections: list[dict[str, Any]] | None = None, **extra: Any) -> Path:
        path = workdir / "crmsync.yaml"
        config = {"database_url": database_url, "merge": DEMO_POLICY.model_dump(exclude_defaults=True),
                  "connections": CRM_CONNECTIONS if connections is None else connections, **extra}
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def seeded(store_url: str, write_config: Callable[..., Path]) -> Path:
    """crmsync.yaml in the working directory, its store holding the demo's bundled CRM records (five people,
    two of them sharing a phone with a third, a bad phone number, a deal), ingested as backfills would."""
    config = write_config(store_url)
    engine = db.make_engine(store_url)
    db.upgrade(engine)
    workspace = Workspace(load_settings(config), engine, token_store=NoTokenStore())
    for connection in ("salesforce", "hubspot", "zoho"):
        workspace.ingestor(connection, f"seed-{connection}").ingest_page(bundled_records(connection),
                                                                         f"seed-{connection}")
    workspace.close()
    engine.dispose()
    return config


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return invoke
