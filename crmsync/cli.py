"""The `crmsync` command line (typer + rich). Errors print one actionable line; tracebacks only with --debug."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import and_, select

from crmsync.commands import runs
from crmsync.commands.common import _state, console, err_console, friendly_errors, open_engine, settings, store
from crmsync.commands.logs import configure_logging
from crmsync.commands.state import init, outbox_app, status
from crmsync.errors import NotFoundError
from crmsync.mappings.loader import check_mappings
from crmsync.store import db
from crmsync.store.models import Conflict, ExternalRef, Lead
from crmsync.store.provenance import unpack

app = typer.Typer(help="Keep one canonical lead/deal store in sync with every CRM.", no_args_is_help=True)
db_app = typer.Typer(help="The canonical store's schema.", no_args_is_help=True)
mappings_app = typer.Typer(help="Field mappings.", no_args_is_help=True)
conflicts_app = typer.Typer(help="Review items the merge policy would not decide alone.", no_args_is_help=True)
records_app = typer.Typer(help="Canonical records.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(mappings_app, name="mappings")
app.add_typer(conflicts_app, name="conflicts")
app.add_typer(records_app, name="records")
app.add_typer(outbox_app, name="outbox")
app.command("init")(init)
app.command("backfill")(runs.backfill)
app.command("sync")(runs.sync)
app.command("serve")(runs.serve)
app.command("status")(status)

@app.callback()
def main(
    config: Annotated[Path | None, typer.Option("--config", help="crmsync.yaml (default: $CRMSYNC_CONFIG)")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks, debug logs and vendor SDK request "
                                                        "logs.")] = False,
) -> None:
    _state.update(config=config, debug=debug)
    configure_logging(debug)


@db_app.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the canonical store to the current schema."""
    engine = open_engine(settings())
    revision = db.upgrade(engine)
    console.print(f"canonical store at {engine.url.render_as_string(hide_password=True)} is at revision {revision}")


@mappings_app.command("check")
@friendly_errors
def mappings_check(
    directory: Annotated[Path | None, typer.Option("--dir", help="Your mapping directory (overrides built-ins).")] = (
        None
    ),
) -> None:
    """Check every mapping file; list each problem with its file, object and field."""
    config = settings()
    problems = check_mappings(directory or config.mapping_dir, config.default_region)
    for problem in problems:
        console.print(str(problem), highlight=False, soft_wrap=True)
    if problems:
        err_console.print(f"[red]{len(problems)} problem(s)[/red]")
        raise typer.Exit(1)
    console.print("[green]all mappings are valid[/green]")


def _summary(candidates: list[dict[str, Any]]) -> str:
    parts = []
    for c in candidates:
        if "system" in c and "value" in c:
            parts.append(f"{c['system']}={c['value']!r}")
        else:
            parts.append(c["canonical_id"] + (" (new)" if c.get("new") else ""))
    return ", ".join(parts)


@conflicts_app.command("list")
@friendly_errors
def conflicts_list(
    include_resolved: Annotated[bool, typer.Option("--all", help="Include resolved conflicts.")] = False,
) -> None:
    """Open conflicts (and resolved ones with --all)."""
    engine = store()
    query = select(Conflict).order_by(Conflict.id)  # type: ignore[arg-type]
    if not include_resolved:
        query = query.where(Conflict.status == "open")
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    table = Table("id", "kind", "entity", "record", "field", "candidates", "status", title="Conflicts")
    for row in rows:
        table.add_row(str(row["id"]), row["kind"], row["entity"], row["canonical_id"], row["field"] or "",
                      _summary(row["candidates"]), row["status"])
    console.print(table)
    if not rows:
        console.print("no conflicts")


@conflicts_app.command("show")
@friendly_errors
def conflicts_show(conflict_id: int) -> None:
    """One conflict with every candidate value, its source and time."""
    with store().connect() as conn:
        row = conn.execute(select(Conflict).where(Conflict.id == conflict_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no conflict {conflict_id}: see `crmsync conflicts list`")
    console.print(f"conflict {row['id']}: {row['kind']} on {row['entity']} {row['canonical_id']}"
                  + (f", field {row['field']}" if row["field"] else "") + f" [{row['status']}]")
    table = Table("take", "value", "source time", "run")
    for c in row["candidates"]:
        if row["kind"] == "identity":
            table.add_row(c["canonical_id"], f"{c.get('system', '')} {c.get('external_id', '')}".strip(), "", "")
        else:
            table.add_row(c["system"], repr(c["value"]), c["source_ts"], c.get("run_id") or "")
    console.print(table)
    choice = "id" if row["kind"] == "identity" else "system"
    console.print(f"resolve with: crmsync conflicts resolve {row['id']} --take <{choice}>")


@conflicts_app.command("resolve")
@friendly_errors
def conflicts_resolve(
    conflict_id: int,
    take: Annotated[str, typer.Option("--take", help="The system whose value wins (identity: the id to keep).")],
) -> None:
    """Resolve a conflict by taking one candidate."""
    from crmsync.sync_engine.review import resolve_conflict

    console.print(resolve_conflict(store(), conflict_id, take, settings().merge))


@records_app.command("show")
@friendly_errors
def records_show(email: Annotated[str, typer.Option("--email", help="The person's e-mail address.")]) -> None:
    """A person's canonical record: each field's value, the system it came from and when."""
    with store().connect() as conn:
        lead = conn.execute(select(Lead).where(and_(Lead.email == email.strip().lower(),
                                                    Lead.merged_into.is_(None)))).mappings().first()  # type: ignore[union-attr]
        if lead is None:
            raise NotFoundError(f"no lead with e-mail {email}")
        prov = unpack(lead["provenance"])
        refs = conn.execute(select(ExternalRef).where(and_(
            ExternalRef.entity == "lead", ExternalRef.canonical_id == lead["id"]))).mappings().all()
    print_record("lead", lead, prov, refs)


def print_record(entity: str, row: Any, provenance: dict[str, list[Any]], refs: Any) -> None:
    table = Table("field", "value", "source", "source time", "run", title=f"{entity} {row['id']}")
    values = {k: v for k, v in row.items()
              if k not in ("id", "custom", "created_at", "updated_at", "merged_into", "provenance")}
    values.update({f"custom.{k}": v for k, v in (row["custom"] or {}).items()})
    for name, value in values.items():
        if value in (None, [], ""):
            continue
        system, ts, run = provenance.get(name, ["", "", ""])
        table.add_row(name, str(value), system, ts, run or "")
    console.print(table)
    linked = ", ".join(f"{r['system']}:{r['object']}/{r['external_id']}" + (" (deleted)" if r["deleted_at"] else "")
                       for r in refs)
    console.print(f"  linked: {linked or 'nothing'}", highlight=False)


@app.command("demo")
@friendly_errors
def demo(
    database: Annotated[Path, typer.Option("--db", help="SQLite file for the demo (recreated).")] = Path(
        "crmsync-demo.db"),
) -> None:
    """Merge a bundled set of overlapping leads from three systems and show the result."""
    from crmsync.demo.run import run_demo

    run_demo(database, console)


def _mount_optional() -> None:
    try:
        from crmsync.sandbox.cli import sandbox_app
    except ImportError:  # the sandbox is optional at import time only while it is being built
        return
    app.add_typer(sandbox_app, name="sandbox", help="Local emulators of every vendor API.")


_mount_optional()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
