"""`crmsync status`, `crmsync outbox list|retry` and `crmsync init`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import Table as SqlTable
from sqlalchemy import func, select

from crmsync.commands.common import DataTable, console, err_console, friendly_errors, settings, store
from crmsync.commands.logs import one_line
from crmsync.errors import ConfigError, NotFoundError
from crmsync.store.models import Checkpoint, Conflict, OutboxItem, SyncRun
from crmsync.sync_engine import outbox as outbox_store

outbox_app = typer.Typer(help="Write-back waiting to be pushed, and dead letters.", no_args_is_help=True)
RUNS: SqlTable = SyncRun.__table__  # type: ignore[assignment]
CHECKPOINTS: SqlTable = Checkpoint.__table__  # type: ignore[assignment]
CONFLICTS: SqlTable = Conflict.__table__  # type: ignore[assignment]
OUTBOX: SqlTable = OutboxItem.__table__  # type: ignore[assignment]


def _age(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    seconds = (datetime.now(UTC) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


@friendly_errors
def status() -> None:
    """Per connection: the last run and its counts, cursor lag, outbox depth, dead letters; open conflicts."""
    config = settings()
    engine = store()
    depth = outbox_store.depth(engine)
    table = DataTable("connection", "system", "last run", "status", "counts", "cursor moved", "outbox", "dead letters",
                      "held", title="crmsync status")
    with engine.connect() as conn:
        for connection in config.connections:
            last = conn.execute(select(RUNS).where(RUNS.c.connection == connection.name)
                                .order_by(RUNS.c.started_at.desc()).limit(1)).mappings().first()
            moved = conn.execute(select(func.max(CHECKPOINTS.c.updated_at)).where(
                CHECKPOINTS.c.connection == connection.name)).scalar()
            counts = ", ".join(f"{k} {v}" for k, v in (last["counts"] if last else {}).items())
            queued = depth.get(connection.name, {})
            table.add_row(connection.name, connection.system,
                          f"{last['kind']} {_age(last['started_at'])}" if last else "never",
                          (last["status"] + (f": {one_line(last['error'])[:60]}" if last["error"] else ""))
                          if last else "-",
                          counts or "-", _age(moved), str(queued.get("pending", 0)), str(queued.get("dead", 0)),
                          str(queued.get("held", 0)))
        open_conflicts = conn.execute(select(func.count()).select_from(CONFLICTS).where(
            CONFLICTS.c.status == "open")).scalar()
    console.print(table)
    for target, reasons in outbox_store.held_reasons(engine).items():
        for reason, count in reasons:  # records a target cannot hold as they stand: not sent, not failures
            console.print(f"held for {target}: {count} x {one_line(reason)}", highlight=False, markup=False,
                          soft_wrap=True)
    for connection in config.connections:
        if connection.unavailable:
            err_console.print(f"[yellow]cannot run:[/yellow] {escape(connection.unavailable)}", highlight=False,
                              soft_wrap=True)
    if not config.connections:
        console.print("no connections configured: `crmsync init` writes a starter crmsync.yaml")
    console.print(f"open conflicts: {open_conflicts} (crmsync conflicts list)")


@outbox_app.command("list")
@friendly_errors
def outbox_list(
    dead: Annotated[bool, typer.Option("--dead", help="Only dead letters.")] = False,
    held: Annotated[bool, typer.Option("--held", help="Only items held back (the reason is the last error).")
                    ] = False,
    limit: Annotated[int, typer.Option(help="At most this many items.")] = 100,
) -> None:
    """Items waiting to be pushed (or dead letters, or items a target cannot hold as they stand), oldest first."""
    if dead and held:
        raise ConfigError("give --dead or --held, not both")
    items = outbox_store.list_items(store(), "dead" if dead else "held" if held else None, limit)
    table = DataTable("id", "target", "entity", "record", "status", "attempts", "next try", "last error",
                      title="Outbox")
    for item in items:
        table.add_row(str(item["id"]), item["target"], item["entity"], item["canonical_id"], item["status"],
                      str(item["attempts"]), item["next_attempt_at"].isoformat(timespec="seconds"),
                      one_line(item["last_error"] or "")[:80])
    console.print(table if items else "the outbox is empty")


@outbox_app.command("retry")
@friendly_errors
def outbox_retry(
    item_id: Annotated[int | None, typer.Argument(help="A dead letter's id (`crmsync outbox list --dead`).")] = None,
    retry_all: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Make dead letters due again; the next drain (`crmsync sync` or `serve`) pushes them."""
    if (item_id is None) == (not retry_all):
        raise ConfigError("give a dead letter's id or --all")
    engine = store()
    count = outbox_store.retry(engine, None if retry_all else [item_id])  # type: ignore[list-item]
    if item_id is not None and not count:
        with engine.connect() as conn:
            status = conn.execute(select(OUTBOX.c.status).where(OUTBOX.c.id == item_id)).scalar()
        raise NotFoundError(f"outbox item {item_id} is {status}, not a dead letter: it is pushed (or held) as it is"
                            if status else f"no outbox item {item_id}: see `crmsync outbox list --dead`")
    console.print(f"{count} dead letter(s) will be retried" if count else "there are no dead letters")


STARTER = """\
# crmsync configuration. Secrets are ${ENV_VAR} references, resolved when crmsync starts.
# Reference: README.md. Check mappings with `crmsync mappings check`.

database_url: sqlite:///crmsync.db          # PostgreSQL: postgresql+psycopg://user@host:5432/db

# Who wins when two systems disagree (first = most trusted); per-field strategies under entities.
merge:
  system_priority: [salesforce, hubspot]
  default_strategy: latest                  # latest | priority | first_non_empty | manual | union
  entities:
    lead: {lead_status: manual}

outbox:
  max_attempts: 5                           # then the item is a dead letter (`crmsync outbox list --dead`)

connections:
  # The local Salesforce sandbox: start it with `crmsync sandbox up --port-base 8700 --ca-dir .sandbox`.
  - name: salesforce
    system: salesforce
    base_url: https://127.0.0.1:8700
    ca_bundle: .sandbox/ca.pem
    credentials:
      client_id: ${SF_CLIENT_ID}
      client_secret: ${SF_CLIENT_SECRET}
      username: ${SF_USERNAME}
      password: ${SF_PASSWORD}
    objects: {Lead: both, Contact: both, Account: both}
    interval_seconds: 300                   # scheduled incremental sync (`crmsync serve`)
"""


@friendly_errors
def init(
    path: Annotated[Path, typer.Option(help="Where to write the file.")] = Path("crmsync.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter crmsync.yaml pointing at the local sandbox."""
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; use --force to overwrite it")
    path.write_text(STARTER, encoding="utf-8")
    console.print(f"wrote {path}. Next: export SF_CLIENT_ID, SF_CLIENT_SECRET, SF_USERNAME, SF_PASSWORD "
                  "(`crmsync sandbox up` prints the sandbox's), CRMSYNC_SECRET_KEY to keep OAuth tokens, "
                  "then `crmsync db upgrade` and `crmsync backfill salesforce`.", highlight=False)
