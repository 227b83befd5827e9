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


def test_hubspot_and_zoho_oauth_tokens_are_kept_between_runs(tmp_path) -> None:
    import gc

    from crmsync.config.settings import Settings
    from crmsync.sandbox import SandboxRunner
    from crmsync.store import db

    with SandboxRunner(["hubspot", "zoho"]) as runner:
        hs, zoho = runner.endpoints["hubspot"], runner.endpoints["zoho"]
        settings = Settings.model_validate({
            "database_url": f"sqlite:///{tmp_path / 'store.db'}",
            "connections": [
                {"name": "hs", "system": "hubspot", "base_url": hs.base_url, "ca_bundle": hs.ca_bundle,
                 "objects": {"contacts": "pull"},
                 "credentials": {k: hs.credentials[k] for k in ("client_id", "client_secret", "refresh_token")}},
                {"name": "zoho", "system": "zoho", "base_url": zoho.credentials["accounts_url"],
                 "ca_bundle": zoho.ca_bundle, "objects": {"Leads": "pull"},
                 "credentials": {k: zoho.credentials[k] for k in ("client_id", "client_secret", "refresh_token")}},
            ]})
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        fernet = Fernet(Fernet.generate_key())

        def refreshes() -> tuple[int, int]:
            workspace = Workspace(settings, engine, token_store=EncryptedTokenStore(engine, fernet))
            try:
                for name in ("hs", "zoho"):
                    assert SyncRunner(workspace, name).incremental().status == "ok"
                return (workspace.connector("hs").client.tokens.refreshes,  # type: ignore[attr-defined]
                        workspace.connector("zoho").client.refreshes)  # type: ignore[attr-defined]
            finally:
                workspace.close()

        assert refreshes() == (1, 1)
        assert refreshes() == (0, 0)  # both reused the tokens kept, encrypted, in the store
        engine.dispose()
        gc.collect()
