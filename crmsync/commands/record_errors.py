"""`crmsync errors list | show | retry`: source records that could not be applied, kept with their payload."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from sqlalchemy import Table as SqlTable
from sqlalchemy import func, select

from crmsync.commands.common import DataTable, console, friendly_errors, open_workspace, say, settings, store
from crmsync.commands.logs import one_line
from crmsync.commands.retry import retry_errors
from crmsync.errors import ConfigError, NotFoundError
from crmsync.store.models import RecordError

errors_app = typer.Typer(help="Source records that could not be applied (kept with their payload).",
                         no_args_is_help=True)
RECORD_ERROR: SqlTable = RecordError.__table__  # type: ignore[assignment]


def _when(row: Mapping[str, Any]) -> str:
    return str(row["created_at"].strftime("%Y-%m-%d %H:%M:%S"))


@errors_app.command("list")
@friendly_errors
def errors_list(
    connection: Annotated[str | None, typer.Option("--connection", help="Only this connection's records.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
) -> None:
    """Record errors, newest first: which connection's record, why it failed, when."""
    query = select(RECORD_ERROR)
    if connection is not None:
        query = query.where(RECORD_ERROR.c.system == connection)
    with store().connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
        rows = list(conn.execute(query.order_by(RECORD_ERROR.c.id.desc()).limit(limit)).mappings())
    if not rows:
        say("no record errors" + (f" for {connection}" if connection else ""))
        return
    table = DataTable("id", "when (UTC)", "connection", "object", "record", "error", title="Record errors")
    for row in rows:
        table.add_row(str(row["id"]), _when(row), row["system"], row["object"], row["external_id"],
                      one_line(row["error"])[:120])
    console.print(table)
    say(f"{len(rows)} of {total} (newest first); details: crmsync errors show ID; "
        "apply again: crmsync errors retry ID|--all")


@errors_app.command("show")
@friendly_errors
def errors_show(error_id: int) -> None:
    """One record error with the payload that was kept."""
    with store().connect() as conn:
        row = conn.execute(select(RECORD_ERROR).where(RECORD_ERROR.c.id == error_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no record error {error_id}: see `crmsync errors list`")
    say(f"record error {row['id']}: {row['system']} {row['object']} {row['external_id']}")
    say(f"  error: {one_line(row['error'])}")
    say(f"  when:  {_when(row)} UTC" + (f" (run {row['run_id']})" if row["run_id"] else ""))
    say("  payload:")
    say(json.dumps(row["payload"], indent=2, sort_keys=True, default=str, ensure_ascii=False))


@errors_app.command("retry")
@friendly_errors
def errors_retry(
    error_id: Annotated[int | None, typer.Argument(help="A record error's id (`crmsync errors list`).")] = None,
    retry_all: Annotated[bool, typer.Option("--all", help="Every record error (of --connection, if given).")] = False,
    connection: Annotated[str | None, typer.Option("--connection", help="With --all: only this connection's.")] = (
        None),
) -> None:
    """Apply stored payloads again through the normal ingest path (after fixing a mapping, say). A record that
    now applies loses its error; one that still fails keeps one error with the new reason."""
    if (error_id is None) == (not retry_all):
        raise ConfigError("give a record error's id or --all")
    if connection is not None and not retry_all:
        raise ConfigError("--connection goes with --all")
    workspace = open_workspace(settings())
    try:
        query = select(RECORD_ERROR).order_by(RECORD_ERROR.c.id)
        if error_id is not None:
            query = query.where(RECORD_ERROR.c.id == error_id)
        elif connection is not None:
            query = query.where(RECORD_ERROR.c.system == connection)
        with workspace.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        if error_id is not None and not rows:
            raise NotFoundError(f"no record error {error_id}: see `crmsync errors list`")
        if not rows:
            say("no record errors to retry")
            return
        run_id, results = retry_errors(workspace, rows)
    finally:
        workspace.close()
    counts = {"applied": 0, "failing": 0, "skipped": 0}
    for item in sorted(results, key=lambda r: r.error_id):
        counts[item.outcome] += 1
        what = {"applied": "applied; its error is removed", "failing": f"still fails: {one_line(item.detail)}",
                "skipped": f"skipped: {one_line(item.detail)}"}[item.outcome]
        say(f"error {item.error_id} ({' '.join(item.key)}): {what}")
    say(f"{counts['applied']} applied, {counts['failing']} still failing, {counts['skipped']} skipped (run {run_id})")
    if counts["failing"] or counts["skipped"]:
        raise typer.Exit(1)
