"""A backfill and scheduled-style passes between a Salesforce org and a HubSpot portal converge both systems
and the canonical store: same people everywhere, the newest edit of a shared person everywhere."""

from __future__ import annotations

from pathlib import Path

from hubspot_sandbox_support import HubSpotPortalAdmin, hubspot_emulator, portal
from runs_support import connection_config, hubspot_connection

from crmsync.config.settings import Settings
from crmsync.store import db
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

__all__ = ["hubspot_emulator", "portal"]


def people_in_salesforce(org) -> dict[str, dict]:
    return {r["Email"].lower(): r for r in org.records("Lead") if r.get("Email")}


def people_in_hubspot(portal: HubSpotPortalAdmin) -> dict[str, dict]:
    records = portal.admin("GET", "records/contacts")
    return {r["properties"]["email"].lower(): r["properties"] for r in records if r["properties"].get("email")}


def sync_round(workspace: Workspace) -> None:
    for name in ("sf-a", "hs"):
        summary = SyncRunner(workspace, name).incremental()
        assert summary.status == "ok", summary.error
        pushed = OutboxDrainer(workspace).drain()
        assert not any(counts.get("dead") or counts.get("failed") for counts in pushed.values()), pushed


def test_salesforce_and_hubspot_converge(orgs, portal: HubSpotPortalAdmin, tmp_path: Path) -> None:
    org, _ = orgs
    org.seed("Lead", 6)
    portal.seed("contacts", 6)
    shared = org.records("Lead")[0]
    hs_copy = portal.create("contacts", email=shared["Email"].lower(), firstname=shared["FirstName"],
                            lastname=shared["LastName"], jobtitle="Head of Maps", company=shared["Company"])
    settings = Settings.model_validate({
        "database_url": f"sqlite:///{tmp_path / 'store.db'}",
        "connections": [connection_config("sf-a", org, {"Lead": "both"}), hubspot_connection(portal)],
    })
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    try:
        for name in ("sf-a", "hs"):
            assert SyncRunner(workspace, name).backfill().status == "ok"
        pushed = OutboxDrainer(workspace).drain()
        assert not any(counts.get("dead") for counts in pushed.values()), pushed

        # 6 + 6 people, one of them in both systems: 12 people in each system.
        in_sf, in_hs = people_in_salesforce(org), people_in_hubspot(portal)
        assert set(in_sf) == set(in_hs) and len(in_sf) == 12

        # An edit on each side after the backfill reaches the other side.
        org.advance(60)
        portal.advance(60)
        org.update("Lead", shared["Id"], Title="Chief Surveyor")
        other = next(email for email in in_hs if email != shared["Email"].lower())
        portal.update("contacts", in_hs[other]["hs_object_id"], jobtitle="Keeper of Lists")
        sync_round(workspace)
        sync_round(workspace)  # a second round finds nothing left to do
        in_sf, in_hs = people_in_salesforce(org), people_in_hubspot(portal)
        assert in_sf[shared["Email"].lower()]["Title"] == in_hs[shared["Email"].lower()]["jobtitle"] == "Chief Surveyor"
        assert in_sf[other]["Title"] == in_hs[other]["jobtitle"] == "Keeper of Lists"
        for email in in_sf:
            assert (in_sf[email]["Title"] or None) == (in_hs[email].get("jobtitle") or None), email
        quiet = SyncRunner(workspace, "hs").incremental().totals()
        assert quiet["updated"] == 0 and quiet["created"] == 0, dict(quiet)
        assert hs_copy in {p["hs_object_id"] for p in in_hs.values()}
    finally:
        workspace.close()
