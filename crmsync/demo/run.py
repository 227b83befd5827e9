"""The demo: overlapping people from Salesforce, HubSpot and Zoho, merged by policy into one SQLite store; then a
Stripe payment that wins a deal and a Five9 call, both reaching every CRM."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select

from crmsync.config.policy import MergePolicy
from crmsync.config.settings import Settings
from crmsync.demo.orgs import SYSTEMS, DemoSystems
from crmsync.demo.payment_and_call import show_call, show_payment
from crmsync.errors import CrmsyncError
from crmsync.receiver.server import BackgroundServer, Receiver
from crmsync.store import db
from crmsync.store.models import Conflict, ExternalRef, Lead, RecordError
from crmsync.store.provenance import unpack
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine import outbox
from crmsync.sync_engine.records import SourceRecord
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

DATA_DIR = Path(__file__).resolve().parent / "data"
ID_FIELDS = {"salesforce": "Id", "hubspot": "id", "zoho": "id"}

# Salesforce is trusted most for e-mail; lead status is for a person to decide; tags accumulate.
DEMO_POLICY = MergePolicy.model_validate({
    "system_priority": ["salesforce", "hubspot", "zoho"],
    "entities": {"lead": {"email": "priority", "lead_status": "manual", "tags": "union"}},
})


def bundled_records(system: str) -> list[SourceRecord]:
    items = json.loads((DATA_DIR / f"{system}.json").read_text(encoding="utf-8"))
    return [
        SourceRecord(system=system, object=item["object"], external_id=str(item["record"][ID_FIELDS[system]]),
                     modified_at=datetime.fromisoformat(item["modified_at"]), payload=item["record"])
        for item in items
    ]


def run_demo(database: Path, console: Console) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    console.rule("[bold]crmsync demo[/bold]: three CRMs, payments and calls, one canonical store")
    console.print("A Salesforce org, a HubSpot portal and a Zoho org run as sandboxes on loopback (HTTPS), each "
                  "holding some of the same people, entered at different times with different details.")
    console.print("Salesforce also has an Opportunity for Ada; a Stripe account and a Five9 contact center run "
                  "beside them.")
    runs = Table("run", "source", "read", "created", "updated", "unchanged", "conflicts", "failed", "queued",
                 title="Backfills (mapping -> identity -> merge -> store -> outbox)")
    engine = db.make_engine(url)
    db.upgrade(engine)
    with DemoSystems() as systems:
        settings = Settings.model_validate({"database_url": url, "merge": DEMO_POLICY.model_dump(),
                                            "connections": systems.connections()})
        workspace = Workspace(settings, engine, token_store=NoTokenStore())
        try:
            for name in SYSTEMS:
                _run_row(runs, name, SyncRunner(workspace, name).backfill().totals())
            console.print(runs)
            _print_push(console, OutboxDrainer(workspace).drain())
            for item in outbox.list_items(engine, "dead"):
                console.print(f"  dead letter {item['id']} ({item['target']}, lead {item['canonical_id'][-8:]}): "
                              f"{item['last_error']}; see `crmsync outbox list --dead`", highlight=False)
            _show_change_arriving(console, systems, workspace)
            show_payment(console, systems, workspace, _print_push)
            with _receiving(workspace) as receiver_url:
                _show_webhook(console, systems, workspace, receiver_url)
                show_call(console, systems, workspace, receiver_url)
        finally:
            workspace.close()
    _show_leads(engine, console)
    _show_conflicts(engine, console)
    _show_errors(engine, console)
    console.print(f"\nStore: {database}. Try:")
    console.print(f"        CRMSYNC_DATABASE_URL={url} crmsync records show --email ada@analytical.io")
    console.print(f"        CRMSYNC_DATABASE_URL={url} crmsync conflicts list")


def _show_change_arriving(console: Console, systems: DemoSystems, workspace: Workspace) -> None:
    """A user edits Ada in Salesforce; incremental passes carry it to HubSpot and Zoho."""
    email = "ada@analytical.io"
    before = {name: systems.title(name, email) for name in SYSTEMS}
    systems.edit_title("salesforce", email, "Chief Analyst")
    console.print(f"\nA Salesforce user changes Ada's title to 'Chief Analyst'. HubSpot says {before['hubspot']!r}, "
                  f"Zoho says {before['zoho']!r}.", highlight=False)
    passes = Table("pass", "read", "updated", "unchanged", "queued", title="Incremental passes (crmsync sync --once)")
    for name in SYSTEMS:
        totals = SyncRunner(workspace, name).incremental().totals()
        passes.add_row(name, *(str(totals[k]) for k in ("read", "updated", "unchanged", "queued")))
        _print_push(console, OutboxDrainer(workspace).drain())
    console.print(passes)
    after = {name: systems.title(name, email) for name in SYSTEMS}
    console.print(f"Now Salesforce says {after['salesforce']!r}, HubSpot {after['hubspot']!r}, Zoho {after['zoho']!r}; "
                  "reading our own writes back changed nothing (echo suppression).\n", highlight=False)


@contextmanager
def _receiving(workspace: Workspace) -> Iterator[str]:
    """`crmsync serve`'s receiver (its scheduler left out: the demo runs each step itself), on loopback."""
    receiver = Receiver(workspace, with_scheduler=False)
    with BackgroundServer(receiver.app) as server:
        receiver.start()
        try:
            yield server.url
        finally:
            receiver.stop()


def _show_webhook(console: Console, systems: DemoSystems, workspace: Workspace, receiver_url: str) -> None:
    """The receiver takes a HubSpot webhook; the change reaches Salesforce within seconds."""
    email = "grace@navy.mil"
    systems.admin("hubspot", "POST", "listeners", {"url": f"{receiver_url}/webhooks/hubspot"})
    started = time.monotonic()
    systems.edit_title("hubspot", email, "Rear Admiral (ret.)")
    console.print(f"A HubSpot user changes Grace Hopper's title; HubSpot signs a webhook to {receiver_url}"
                  "/webhooks/hubspot.", highlight=False)
    arrived = None
    while time.monotonic() - started < 15:
        OutboxDrainer(workspace).drain()  # `serve` runs this as its outbox job
        if systems.title("salesforce", email) == "Rear Admiral (ret.)":
            arrived = time.monotonic() - started
            break
        time.sleep(0.1)
    if arrived is None:
        raise CrmsyncError("the HubSpot webhook did not reach Salesforce within 15 s; see `crmsync status`")
    console.print(f"Verified, stored in the inbox, applied and pushed: Salesforce says "
                  f"{systems.title('salesforce', email)!r} {arrived:.1f} s after the edit.\n", highlight=False)


def _print_push(console: Console, results: dict[str, Any]) -> None:
    for target, counts in results.items():
        if counts:
            shown = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
            console.print(f"write-back to {target}: {shown}", highlight=False)


def _run_row(table: Table, source: str, counts: Mapping[str, int]) -> None:
    table.add_row(str(table.row_count + 1), source, *(str(counts.get(k, 0)) for k in (
        "read", "created", "updated", "unchanged", "conflicts", "failed", "queued")))

def _show_leads(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        leads = conn.execute(select(Lead).where(Lead.merged_into.is_(None)).order_by(Lead.email)).mappings().all()  # type: ignore[union-attr,arg-type]
        refs: dict[str, list[str]] = {}
        for ref in conn.execute(select(ExternalRef).where(ExternalRef.entity == "lead")).mappings():
            refs.setdefault(ref["canonical_id"], []).append(f"{ref['system']}:{ref['external_id']}")
    for lead in leads:
        name = " ".join(p for p in (lead["first_name"], lead["last_name"]) if p)
        table = Table("field", "value", "from", "source time", title=f"{name} <{lead['email'] or 'no e-mail'}>",
                      caption="linked: " + ", ".join(refs.get(lead["id"], [])), title_justify="left")
        prov = unpack(lead["provenance"])
        for field in ("email", "phone", "first_name", "last_name", "title", "company_name", "lead_status",
                      "lifecycle_stage", "city", "tags"):
            value = lead[field]
            if value not in (None, []):
                system, ts, _run = prov.get(field, ["", "", ""])
                table.add_row(field, _show(value), system, ts[:19])
        for key, value in (lead["custom"] or {}).items():
            system, ts, _run = prov.get(f"custom.{key}", ["", "", ""])
            table.add_row(f"custom.{key}", _show(value), system, ts[:19])
        console.print(table)


def _show(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _show_conflicts(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(Conflict).order_by(Conflict.id)).mappings().all()  # type: ignore[arg-type]
    table = Table("id", "kind", "record", "field", "candidates", title="Conflicts opened (crmsync conflicts list)")
    for row in rows:
        if row["kind"] == "identity":
            candidates = ", ".join(c["canonical_id"][-8:] + ("(new)" if c.get("new") else "")
                                   for c in row["candidates"])
        else:
            candidates = ", ".join(f"{c['system']}={c['value']!r}" for c in row["candidates"])
        table.add_row(str(row["id"]), row["kind"], row["canonical_id"][-8:], row["field"] or "", candidates)
    console.print(table)


def _show_errors(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(RecordError)).mappings().all()
    # Ids are time-ordered: their tail tells records apart. A record that fails again in a later run is
    # shown once (record_error keeps every attempt).
    shown = {(row["system"], row["object"], row["external_id"], row["error"]): row for row in rows}
    for row in shown.values():
        console.print(f"[yellow]record not applied[/yellow] {row['system']} {row['object']} {row['external_id']}: "
                      f"{row['error']} (kept in record_error with its payload)", highlight=False)
