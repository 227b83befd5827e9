"""The demo: overlapping people from Salesforce, HubSpot and Zoho, merged by policy into one SQLite store; then a
Stripe payment that wins a deal and a Five9 call, both reaching every CRM."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select

from crmsync.commands.lookup import label, records_by_id
from crmsync.config.connections import ConnectionConfig
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
from crmsync.sync_engine.merge import iso_utc
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
                lead = _lead_label(engine, item["canonical_id"])  # not its id: ids differ on every run
                console.print(f"  dead letter {item['id']} ({item['target']}, lead {lead}): {item['last_error']}; "
                              "see `crmsync outbox list --dead`", highlight=False)
            systems.next_step()
            _show_change_arriving(console, systems, workspace)
            systems.next_step()
            show_payment(console, systems, workspace, _print_push)
        finally:
            workspace.close()
        with _receiving(settings, systems, engine) as (receiving, receiver_url):
            systems.next_step()
            _show_webhook(console, systems, receiving, receiver_url)
            systems.next_step()
            show_call(console, systems, receiving, receiver_url)
    _show_leads(engine, console, systems.live_from)
    _show_conflicts(engine, console)
    _show_errors(engine, console)
    command = f"CRMSYNC_DATABASE_URL={shlex.quote(url)} {crmsync_command()}"
    console.print(f"\nStore: {database}. Try, from this directory:", highlight=False)
    for example in ("records show --email ada@analytical.io --history", "records show --phone '+44 20 7946 0958'",
                    "conflicts list", "errors list"):
        console.print(f"        {command} {example}", highlight=False, soft_wrap=True)


def crmsync_command() -> str:
    """How this crmsync is started from a fresh shell in the current directory: `crmsync` when that is the one
    on PATH, else the path of its entry point (`.venv/bin/crmsync` from the repository)."""
    script = Path(sys.argv[0])
    if script.name != "crmsync" or not script.is_file():
        script = Path(sys.executable).parent / "crmsync"  # the environment's entry point, beside its python
    if not script.is_file():
        return "crmsync"
    found = shutil.which("crmsync")
    if found and Path(found).resolve() == script.resolve():
        return "crmsync"
    try:
        relative = script.absolute().relative_to(Path.cwd())
    except ValueError:
        return shlex.quote(str(script.absolute()))
    return shlex.quote(str(relative) if len(relative.parts) > 1 else f"./{relative}")


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
def _receiving(settings: Settings, systems: DemoSystems, engine: Engine) -> Iterator[tuple[Workspace, str]]:
    """`crmsync serve`'s receiver (its scheduler left out: the demo runs each step itself) on loopback, with a
    workspace whose Zoho connection subscribes to notifications at it, as a served Zoho is set up."""
    server = BackgroundServer(None)  # bound now: Zoho's notify_url needs the receiver's address
    served = settings.model_copy(update={"connections": [
        ConnectionConfig.model_validate(entry) for entry in systems.connections(server.url)]})
    workspace = Workspace(served, engine, token_store=NoTokenStore())
    try:
        receiver = Receiver(workspace, with_scheduler=False)
        server.app = receiver.app
        with server:
            receiver.start()
            try:
                yield workspace, server.url
            finally:
                receiver.stop()
    finally:
        workspace.close()


def _show_webhook(console: Console, systems: DemoSystems, workspace: Workspace, receiver_url: str) -> None:
    """The receiver takes a HubSpot webhook; the change reaches Salesforce within seconds."""
    email = "grace@navy.mil"
    systems.admin("hubspot", "POST", "listeners", {"url": f"{receiver_url}/webhooks/hubspot"})
    started = time.monotonic()
    systems.edit_title("hubspot", email, "Rear Admiral (ret.)")
    console.print("A HubSpot user changes Grace Hopper's title; HubSpot signs a webhook to crmsync's receiver "
                  "(POST /webhooks/hubspot).", highlight=False)
    arrived = False
    while not arrived and time.monotonic() - started < 15:
        OutboxDrainer(workspace).drain()  # `serve` runs this as its outbox job
        arrived = systems.title("salesforce", email) == "Rear Admiral (ret.)"
        if not arrived:
            time.sleep(0.1)
    if not arrived:
        raise CrmsyncError("the HubSpot webhook did not reach Salesforce within 15 s; see `crmsync status`")
    console.print(f"Verified, stored in the inbox, applied and pushed: Salesforce says "
                  f"{systems.title('salesforce', email)!r} within seconds of the edit.\n", highlight=False)


def _print_push(console: Console, results: dict[str, Any]) -> None:
    for target, counts in results.items():
        if counts:
            shown = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
            console.print(f"write-back to {target}: {shown}", highlight=False)


def _run_row(table: Table, source: str, counts: Mapping[str, int]) -> None:
    table.add_row(str(table.row_count + 1), source, *(str(counts.get(k, 0)) for k in (
        "read", "created", "updated", "unchanged", "conflicts", "failed", "queued")))

def _lead_label(engine: Engine, lead_id: str) -> str:
    with engine.connect() as conn:
        row = conn.execute(select(Lead).where(Lead.id == lead_id)).mappings().first()
    return label("lead", row)


def _show_leads(engine: Engine, console: Console, live_from: datetime) -> None:
    """Each lead with where its values came from: a bundled record's own time, or `this demo` for what the demo's
    steps changed (their times are the sandboxes' clocks, different on every run)."""
    demo_time = iso_utc(live_from)  # as provenance writes times: compared as text
    with engine.connect() as conn:
        leads = conn.execute(select(Lead).where(Lead.merged_into.is_(None)).order_by(Lead.email)).mappings().all()  # type: ignore[union-attr,arg-type]
        refs: dict[str, list[str]] = {}
        for ref in conn.execute(select(ExternalRef).where(ExternalRef.entity == "lead")
                                .order_by(ExternalRef.id)).mappings():  # type: ignore[arg-type]
            refs.setdefault(ref["canonical_id"], []).append(f"{ref['system']}:{ref['external_id']}")
    for lead in leads:
        name = " ".join(p for p in (lead["first_name"], lead["last_name"]) if p)
        table = Table("field", "value", "from", "source time (UTC)", title=f"{name} <{lead['email'] or 'no e-mail'}>",
                      caption="linked: " + ", ".join(refs.get(lead["id"], [])), title_justify="left")
        prov = unpack(lead["provenance"])
        for field in ("email", "phone", "first_name", "last_name", "title", "company_name", "lead_status",
                      "lifecycle_stage", "city", "tags"):
            value = lead[field]
            if value not in (None, []):
                system, ts, _run = prov.get(field, ["", "", ""])
                table.add_row(field, _show(value), system, _source_time(ts, demo_time))
        for key, value in (lead["custom"] or {}).items():
            system, ts, _run = prov.get(f"custom.{key}", ["", "", ""])
            table.add_row(f"custom.{key}", _show(value), system, _source_time(ts, demo_time))
        console.print(table)


def _source_time(ts: str, demo_time: str) -> str:
    # Provenance times are fixed-width ISO UTC, so text order is time order.
    return "this demo" if ts >= demo_time else ts[:16].replace("T", " ")


def _show(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _show_conflicts(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(Conflict).order_by(Conflict.id)).mappings().all()  # type: ignore[arg-type]
        ids = {c.get("canonical_id", "") for row in rows for c in row["candidates"]}
        ids |= {row["canonical_id"] for row in rows}
        people = {lead_id: label("lead", row) for lead_id, row in records_by_id(conn, "lead", ids).items()}
    table = Table("id", "kind", "record", "field", "candidates", title="Conflicts opened (crmsync conflicts list)")
    for row in rows:
        if row["kind"] == "identity":  # the new record last, the others by name: ids differ on every run
            named = [people.get(c["canonical_id"], "?") + (" (new)" if c.get("new") else "") for c in row["candidates"]]
            candidates = "; ".join(sorted(named, key=lambda text: (text.endswith("(new)"), text)))
        else:
            candidates = ", ".join(f"{c['system']}={c['value']!r}" for c in row["candidates"])
        table.add_row(str(row["id"]), row["kind"], people.get(row["canonical_id"], "?"), row["field"] or "", candidates)
    console.print(table)


def _show_errors(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(RecordError).order_by(RecordError.id)).mappings().all()  # type: ignore[arg-type]
    # A record that fails again in a later run is shown once (record_error keeps every attempt).
    shown = {(row["system"], row["object"], row["external_id"], row["error"]): row for row in rows}
    for row in shown.values():
        console.print(f"[yellow]record not applied[/yellow] {row['system']} {row['object']} {row['external_id']}: "
                      f"{row['error']} (kept with its payload: crmsync errors show {row['id']})", highlight=False)
