"""Deletes through real connectors: a delete propagated from one org to the other, hard deletes found by listing
ids (`crmsync reconcile`), and the mass-delete rail pausing a pass until confirmed."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from crmsync.cli import app
from crmsync.store.models import Lead, OutboxItem
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer


def archived(workspace: Workspace) -> int:
    with workspace.engine.connect() as conn:
        return len(conn.execute(select(Lead.id).where(Lead.deleted_at.is_not(None))).all())


def test_a_delete_in_an_org_that_propagates_deletes_it_in_the_other(orgs, make_settings) -> None:
    org_a, org_b = orgs
    org_a.seed("Lead", 3)
    settings = make_settings()
    settings.connections[0].deletes = "propagate"
    workspace = Workspace(settings, token_store=NoTokenStore())
    try:
        SyncRunner(workspace, "sf-a").backfill()
        assert OutboxDrainer(workspace).drain()["sf-b"]["pushed"] == 3
        SyncRunner(workspace, "sf-b").incremental()  # B's copies read back: our own echo
        gone = org_a.records("Lead")[0]
        org_a.advance(5)
        org_a.admin("DELETE", f"records/Lead/{gone['Id']}")
        assert SyncRunner(workspace, "sf-a").incremental().totals()["deleted"] == 1
        assert OutboxDrainer(workspace).drain()["sf-b"]["deleted"] == 1
        assert sorted(r["Email"] for r in org_b.records("Lead")) == sorted(
            r["Email"] for r in org_a.records("Lead"))  # deleted in B too, the others untouched
        # B's own record of the delete, read back, changes nothing more.
        org_b.advance(5)
        assert SyncRunner(workspace, "sf-b").incremental().totals().get("updated", 0) == 0
        assert archived(workspace) == 1
    finally:
        workspace.close()


def test_hard_deletes_are_found_by_listing_ids_and_the_rail_asks_for_confirmation(orgs, make_settings,
                                                                                 tmp_path) -> None:
    org_a, _ = orgs
    org_a.seed("Lead", 10)
    settings = make_settings(deletes={"max_share": 0.25, "min_count": 2, "max_count": 100})
    workspace = Workspace(settings, token_store=NoTokenStore())
    try:
        SyncRunner(workspace, "sf-a").backfill()
        OutboxDrainer(workspace).drain()
        ids = [r["Id"] for r in org_a.records("Lead")]
        org_a.purge(*ids[:2])  # purged: no incremental read ever reports them
        assert SyncRunner(workspace, "sf-a").incremental().totals().get("deleted", 0) == 0
        found = SyncRunner(workspace, "sf-a").reconcile_deletes()
        assert (found.status, found.totals()["deleted"], archived(workspace)) == ("ok", 2, 2)

        org_a.purge(*ids[2:5])  # 3 more of the 8 left: past the rail's 25 %
        paused = SyncRunner(workspace, "sf-a").reconcile_deletes()
        assert paused.status == "paused" and "--confirm-deletes" in (paused.error or "")
        assert archived(workspace) == 2
        with workspace.engine.connect() as conn:
            assert not conn.execute(select(OutboxItem.id).where(OutboxItem.kind == "delete")).all()
    finally:
        workspace.close()
    config = tmp_path / "crmsync.yaml"
    import yaml
    raw = settings.model_dump(mode="json", exclude={"config_file"})
    for connection, original in zip(raw["connections"], settings.connections, strict=True):
        connection["credentials"] = {k: v.get_secret_value() for k, v in original.credentials.items()}
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "reconcile", "sf-a", "--confirm-deletes"])
    assert result.exit_code == 0, result.output
    workspace = Workspace(settings, token_store=NoTokenStore())
    try:
        assert archived(workspace) == 5
    finally:
        workspace.close()
