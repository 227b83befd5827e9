"""Every vendor's connector, built from a crmsync.yaml connection, backfills through the one runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from crmsync.config.settings import Settings
from crmsync.sandbox import SandboxEndpoint, SandboxRunner
from crmsync.store import db
from crmsync.store.models import ExternalRef
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace

# vendor: (objects to pull, objects to seed, credentials the connection takes, connector options)
VENDORS: dict[str, tuple[dict[str, str], list[str], tuple[str, ...], dict[str, Any]]] = {
    "hubspot": ({"companies": "pull", "contacts": "pull"}, ["companies", "contacts"],
                ("client_id", "client_secret", "refresh_token"), {}),
    "zoho": ({"Accounts": "pull", "Leads": "pull"}, ["Accounts", "Leads"],
             ("client_id", "client_secret", "refresh_token"), {}),
    "stripe": ({"customers": "pull", "payment_intents": "pull"}, ["customers", "payment_intents"], ("api_key",), {}),
    "razorpay": ({"customers": "pull", "payments": "pull"}, ["customers", "payments"], ("key_id", "key_secret"), {}),
}


@pytest.fixture(scope="module")
def endpoints() -> Iterator[dict[str, SandboxEndpoint]]:
    with SandboxRunner(list(VENDORS)) as runner:
        yield dict(runner.endpoints)


def connection(vendor: str, endpoint: SandboxEndpoint) -> dict[str, Any]:
    objects, _, keys, options = VENDORS[vendor]
    base_url = endpoint.credentials["accounts_url"] if vendor == "zoho" else endpoint.base_url
    return {"name": f"{vendor}-1", "system": vendor, "base_url": base_url, "ca_bundle": endpoint.ca_bundle,
            "credentials": {key: endpoint.credentials[key] for key in keys}, "objects": objects, "options": options}


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_connection_of_each_system_backfills_into_the_store(vendor: str, endpoints, tmp_path: Path) -> None:
    endpoint = endpoints[vendor]
    with requests.Session() as http:
        http.trust_env, http.verify = False, endpoint.ca_bundle
        assert http.post(f"{endpoint.base_url}/__sandbox/reset").status_code < 300
        for object_name in VENDORS[vendor][1]:
            answer = http.post(f"{endpoint.base_url}/__sandbox/seed", json={"object": object_name, "count": 6})
            assert answer.status_code < 300, answer.text
    settings = Settings.model_validate({"database_url": f"sqlite:///{tmp_path / 'store.db'}",
                                        "connections": [connection(vendor, endpoint)]})
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    try:
        summary = SyncRunner(workspace, f"{vendor}-1").backfill()
        again = SyncRunner(workspace, f"{vendor}-1").incremental()
    finally:
        workspace.close()
    assert summary.status == "ok", summary.error
    for stream in VENDORS[vendor][0]:
        assert summary.streams[stream]["read"] >= 6, (stream, dict(summary.streams[stream]))
        assert summary.streams[stream]["failed"] == 0, (stream, dict(summary.streams[stream]))
    assert again.status == "ok", again.error
    assert again.totals()["created"] == 0 and again.totals()["updated"] == 0, dict(again.totals())
    with engine.connect() as conn:
        refs = conn.execute(select(func.count()).select_from(ExternalRef)).scalar()
    assert refs >= 12  # one external ref per record read, whatever entity it mapped to
