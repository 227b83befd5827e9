"""A connection's OAuth token survives between runs (encrypted in the store) and is refreshed when stale."""

from __future__ import annotations

from cryptography.fernet import Fernet

from crmsync.store.tokens import EncryptedTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace


def test_the_second_run_reuses_the_stored_token_and_a_stale_one_is_refreshed_once(orgs, make_settings) -> None:
    org_a, _ = orgs
    org_a.seed("Lead", 3)
    settings = make_settings()
    fernet = Fernet(Fernet.generate_key())

    def run() -> int:
        workspace = Workspace(settings, token_store=EncryptedTokenStore(make_engine(), fernet))
        try:
            assert SyncRunner(workspace, "sf-a").incremental().status == "ok"
            return workspace.connector("sf-a").client.http.logins  # type: ignore[attr-defined]
        finally:
            workspace.close()

    def make_engine():
        from crmsync.store import db
        return db.make_engine(settings.database_url)

    assert run() == 1
    assert run() == 0  # logged in with the stored token
    org_a.admin("POST", "tokens/expire")
    assert run() == 1  # the stored token was refused once, refreshed, and the run went on
