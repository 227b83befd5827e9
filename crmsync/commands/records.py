"""`crmsync records show`: one canonical record with where each value came from, its links and its history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.table import Column

from crmsync.commands.common import DataTable, console, friendly_errors, say, settings, store
from crmsync.commands.lookup import (
    REVIEWED_ENTITIES,
    Selector,
    find_records,
    history,
    label,
    plain,
    ref_text,
    refs_of,
)
from crmsync.errors import ConfigError, NotFoundError
from crmsync.store.models import UNMERGED_COLUMNS, field_type
from crmsync.store.provenance import unpack

records_app = typer.Typer(help="Canonical records.", no_args_is_help=True)


@records_app.command("show")
@friendly_errors
def records_show(
    email: Annotated[str | None, typer.Option("--email", help="A lead's e-mail address.")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="A lead's phone number (any format).")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="A company's web domain.")] = None,
    record_id: Annotated[str | None, typer.Option("--id", help="The canonical id.")] = None,
    ref: Annotated[str | None, typer.Option("--ref", help="A connection's record id: CONNECTION:EXTERNAL_ID.")] = None,
    entity: Annotated[str, typer.Option("--entity", help="lead, company or deal.")] = "lead",
    with_history: Annotated[bool, typer.Option("--history", help="Also every change, oldest first.")] = False,
) -> None:
    """A canonical lead, company or deal: each field's value, the system it came from and when, the record's
    links in each system, and with --history its changes and the runs that made them. Several matches (two
    leads with one phone) are listed, not chosen between."""
    given = [Selector(kind, value) for kind, value in (("email", email), ("phone", phone), ("domain", domain),
                                                         ("id", record_id), ("ref", ref)) if value is not None]
    if len(given) != 1:
        raise ConfigError("name one record: --email, --phone, --domain, --id or --ref")
    if entity not in REVIEWED_ENTITIES:
        raise ConfigError(f"--entity {entity!r}: use one of {', '.join(REVIEWED_ENTITIES)}")
    selector = given[0]
    config = settings()
    with store().connect() as conn:
        rows = find_records(conn, entity, selector, config.default_region)
        if not rows:
            raise NotFoundError(f"no {selector.describe(entity)}")
        refs = refs_of(conn, entity, [row["id"] for row in rows])
        if len(rows) > 1:
            _print_matches(entity, selector, rows, refs)
            return
        row = rows[0]
        changes = history(conn, entity, row["id"]) if with_history else []
    if selector.kind == "id" and row["id"] != selector.value.strip():
        say(f"{entity} {selector.value} was merged into {row['id']}")
    print_record(entity, row, refs.get(row["id"], []))
    if with_history:
        print_history(row["id"], changes)


def _print_matches(entity: str, selector: Selector, rows: list[Mapping[str, Any]],
                   refs: dict[str, list[Mapping[str, Any]]]) -> None:
    say(f"{len(rows)} {entity}s match {selector.kind} {selector.value}:")
    table = DataTable(Column("id", no_wrap=True), entity, "linked", "updated (UTC)")  # ids whole: they are copied
    for row in rows:
        table.add_row(row["id"], label(entity, row), "\n".join(ref_text(r) for r in refs.get(row["id"], [])) or "-",
                      _when(row["updated_at"]))
    console.print(table)
    say(f"show one with: crmsync records show --entity {entity} --id ID")


def print_record(entity: str, row: Mapping[str, Any], refs: list[Mapping[str, Any]]) -> None:
    provenance = unpack(row["provenance"])
    title = f"{entity} {row['id']}: {label(entity, row)}" + (
        f" (deleted {_when(row['deleted_at'])})" if row["deleted_at"] else "")
    say(title)  # not the table's title: that would wrap at the table's width
    table = DataTable("field", "value", "source", "source time (UTC)")
    for name, value in row.items():
        if name in UNMERGED_COLUMNS or _empty(value):
            continue
        source, moment, _run = provenance.get(name) or ["", "", ""]
        if field_type(entity, name) is dict:  # {connection: that system's value}, e.g. owners
            for connection, item in sorted(value.items()):  # the map's time is that of its last setter
                table.add_row(f"{name}.{connection}", _show(item), connection,
                              _when(moment) if source == connection else "")
            continue
        table.add_row(name, _show(value), source, _when(moment))
    for name, value in sorted((row["custom"] or {}).items()):
        source, moment, _run = provenance.get(f"custom.{name}") or ["", "", ""]
        table.add_row(f"custom.{name}", _show(value), source, _when(moment))
    console.print(table)
    say(f"created {_when(row['created_at'])}, updated {_when(row['updated_at'])} (UTC)")
    link_table = DataTable("connection", "object", "id", "modified there", "last read", "last pushed",
                       title="linked records (UTC)", title_justify="left")
    for ref in refs:
        deleted = " (deleted)" if ref["deleted_at"] else ""
        link_table.add_row(ref["system"], ref["object"], ref["external_id"] + deleted, _when(ref["source_modified_at"]),
                           _when(ref["seen_at"]), _when(ref["pushed_at"]))
    console.print(link_table if refs else "linked records: none")


def print_history(record_id: str, changes: list[Mapping[str, Any]]) -> None:
    """Change-log rows, oldest first; rows of records merged into this one name that record."""
    table = DataTable("when (UTC)", "kind", "system", "run", "changes", title="history", title_justify="left")
    for change in changes:
        body = change["changes"] or {}
        if change["kind"] == "create" and set(body) == {"fields"}:
            text = "set " + ", ".join(body["fields"])
        else:
            text = "\n".join(f"{name}: {_show(pair[0])} → {_show(pair[1])}" if isinstance(pair, list) and len(pair) == 2
                             else f"{name}: {_show(pair)}" for name, pair in body.items())
        if change["canonical_id"] != record_id:
            text = f"(on {change['canonical_id']}, merged in later)\n{text}"
        table.add_row(_when(change["changed_at"]), change["kind"], change["system"], change["run_id"] or "", text)
    console.print(table if changes else "history: no changes logged")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _show(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "∅"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(_show(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return plain(value)


def _when(moment: Any) -> str:
    """A stored moment (datetime or provenance's ISO text) to the second, in UTC."""
    if not moment:
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    return moment.strftime("%Y-%m-%d %H:%M:%S") if isinstance(moment, datetime) else str(moment)
