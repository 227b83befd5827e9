"""Fixtures for sync runs: two sandbox Salesforce orgs (A and B) over HTTPS for the session, emptied before
each test, and settings for a store in the test's temporary directory with a connection to each."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from runs_support import connection_config
from sandbox_support import SalesforceOrgAdmin

from crmsync.config.settings import Settings
from crmsync.sandbox import SandboxRunner
from crmsync.store import db
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.workspace import Workspace

ORG_OPTIONS = {"bulk_polls_until_complete": 1}


def _org(runner: SandboxRunner) -> SalesforceOrgAdmin:
    endpoint = runner.endpoints["salesforce"]
    return SalesforceOrgAdmin(endpoint, endpoint.requests_session())


@pytest.fixture(scope="session")
def org_pair() -> Iterator[tuple[SalesforceOrgAdmin, SalesforceOrgAdmin]]:
    with SandboxRunner(["salesforce"], options={"salesforce": ORG_OPTIONS}) as first, \
            SandboxRunner(["salesforce"], options={"salesforce": ORG_OPTIONS}, faker_seed=99) as second:
        orgs = (_org(first), _org(second))
        try:
            yield orgs
        finally:
            for org in orgs:
                org.http.close()
            gc.collect()


@pytest.fixture
def orgs(org_pair: tuple[SalesforceOrgAdmin, SalesforceOrgAdmin]) -> tuple[SalesforceOrgAdmin, SalesforceOrgAdmin]:
    for org in org_pair:
        org.admin("POST", "reset")
        org.admin("DELETE", "faults")
    return org_pair


@pytest.fixture
def make_settings(tmp_path: Path, orgs: tuple[SalesforceOrgAdmin, SalesforceOrgAdmin]
                  ) -> Callable[..., Settings]:
    """Settings with connections sf-a and sf-b (Lead both ways), a fresh SQLite store, tiny outbox backoff."""
    org_a, org_b = orgs

    def make(a_objects: dict[str, str] | None = None, b_objects: dict[str, str] | None = None,
             **overrides: Any) -> Settings:
        raw: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'store.db'}",
            "merge": {"system_priority": ["sf-a", "sf-b"]},
            "outbox": {"retry_initial_seconds": 0, "retry_max_seconds": 0, "max_attempts": 2, "interval_seconds": 0.5},
            "connections": [connection_config("sf-a", org_a, a_objects or {"Lead": "both"}),
                            connection_config("sf-b", org_b, b_objects or {"Lead": "both"})],
            **overrides,
        }
        settings = Settings.model_validate(raw)
        db.upgrade(db.make_engine(settings.database_url))
        return settings

    return make


@pytest.fixture
def workspace(make_settings: Callable[..., Settings]) -> Iterator[Workspace]:
    space = Workspace(make_settings(), token_store=NoTokenStore())
    yield space
    space.close()
    space.engine.dispose()
