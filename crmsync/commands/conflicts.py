"""`crmsync conflicts list | show | resolve`: what the merge policy would not decide alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from sqlalchemy import Connection, func, select
from sqlalchemy import Table as SqlTable

from crmsync.commands.common import DataTable, console, friendly_errors, say, settings, store
from crmsync.commands.lookup import REVIEWED_ENTITIES, label, plain, records_by_id, ref_text, refs_of
from crmsync.errors import ConfigError, NotFoundError
from crmsync.store.models import Conflict

conflicts_app = typer.Typer(help="Review items the merge policy would not decide alone.", no_args_is_help=True)
CONFLICT: SqlTable = Conflict.__table__  # type: ignore[assignment]
SCAN_CHUNK = 500
# What a person needs to tell identity candidates apart, per entity.
DETAILS = {"lead": ("email", "phone", "company_name"), "company": ("domain", "phone", "city"),
           "deal": ("amount", "stage", "close_date")}


@conflicts_app.command("list")
@friendly_errors
def conflicts_list(
    include_resolved: Annotated[bool, typer.Option("--all", help="Include resolved conflicts.")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="field or identity.")] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="lead, company, deal ...")] = None,
    system: Annotated[str | None, typer.Option("--system", help="Only conflicts with a candidate from this "
                                                                "connection.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Conflicts per page.")] = 50,
    offset: Annotated[int | None, typer.Option("--offset", min=0, help="Skip this many first.")] = None,
    page: Annotated[int | None, typer.Option("--page", min=1, help="Page number (of --limit each).")] = None,
) -> None:
    """Open conflicts (and resolved ones with --all) in id order, oldest first, so pages stay put while new
    conflicts open; page with --limit and --offset or --page. Identity candidates show name, e-mail, phone,
    company and their records in each system."""
    if offset is not None and page is not None:
        raise ConfigError("give --offset or --page, not both")
    if kind not in (None, "field", "identity"):
        raise ConfigError(f"--kind {kind!r}: use field or identity")
    start = offset if offset is not None else ((page or 1) - 1) * limit
    query = select(CONFLICT)
    for condition, wanted in ((CONFLICT.c.status == "open", not include_resolved), (CONFLICT.c.kind == kind, kind),
                              (CONFLICT.c.entity == entity, entity)):
        if wanted:
            query = query.where(condition)
    with store().connect() as conn:
        if system is None:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
            rows = list(conn.execute(query.order_by(CONFLICT.c.id).offset(start).limit(limit)).mappings())
        else:
            matching = _with_candidate_from(conn, query, system)
            total, rows = len(matching), matching[start:start + limit]
        records, refs = _records(conn, rows)
    table = DataTable("id", title="Conflicts")
    for column in ("conflict", "record", "candidates"):
        table.add_column(column, overflow="fold", ratio={"record": 1, "candidates": 2}.get(column))
    table.add_column("opened", no_wrap=True)
    if include_resolved:
        table.add_column("status")
    for row in rows:
        what = f"{row['kind']} {row['entity']}" + (f".{row['field']}" if row["field"] else "")
        cells = [str(row["id"]), what, label(row["entity"], records.get((row["entity"], row["canonical_id"]))),
                 _summary(row, records, refs), _opened(row)]
        table.add_row(*cells, *([row["status"]] if include_resolved else []))
    if rows:
        console.print(table)
    shown = f"{start + 1}-{start + len(rows)} of {total}" if rows else f"none of {total} on this page"
    following = f"--offset {start + len(rows)}" if offset is not None else f"--page {(page or 1) + 1}"
    more = f"; next: {following}" if start + len(rows) < total else ""
    say(f"conflicts {shown} (id order){more}" if total else "no conflicts")


def _with_candidate_from(conn: Connection, query: Any, system: str) -> list[Mapping[str, Any]]:
    """Every conflict (id order) with a candidate from `system`: a field value it sent, or an identity
    candidate it holds a record of."""
    found: list[Mapping[str, Any]] = []
    last = 0
    while True:
        chunk = list(conn.execute(query.where(CONFLICT.c.id > last).order_by(CONFLICT.c.id).limit(SCAN_CHUNK))
                     .mappings())
        if not chunk:
            return found
        last = chunk[-1]["id"]
        linked: dict[tuple[str, str], set[str]] = {}
        identity = [row for row in chunk if row["kind"] == "identity"]
        for entity in {row["entity"] for row in identity}:
            ids = [c["canonical_id"] for row in identity if row["entity"] == entity for c in row["candidates"]]
            for canonical_id, refs in refs_of(conn, entity, ids).items():
                linked[(entity, canonical_id)] = {ref["system"] for ref in refs}
        for row in chunk:
            systems = {c.get("system") for c in row["candidates"]}
            for candidate in row["candidates"] if row["kind"] == "identity" else ():
                systems |= linked.get((row["entity"], candidate["canonical_id"]), set())
            if system in systems:
                found.append(row)


Key = tuple[str, str]  # (entity, canonical id)


def _records(conn: Connection, rows: Sequence[Mapping[str, Any]]
             ) -> tuple[dict[Key, Mapping[str, Any]], dict[Key, list[Mapping[str, Any]]]]:
    """Every record the rows name (their own and identity candidates), and the identity candidates' links."""
    wanted: dict[str, set[str]] = {}
    linked: dict[str, set[str]] = {}
    for row in rows:
        candidates = {c["canonical_id"] for c in row["candidates"] if "canonical_id" in c}
        wanted.setdefault(row["entity"], set()).update({row["canonical_id"], *candidates})
        linked.setdefault(row["entity"], set()).update(candidates)
    records = {(entity, record_id): record for entity, ids in wanted.items()
               for record_id, record in records_by_id(conn, entity, ids).items()}
    refs = {(entity, record_id): found for entity, ids in linked.items()
            for record_id, found in refs_of(conn, entity, ids).items()}
    return records, refs


def _summary(row: Mapping[str, Any], records: Mapping[Key, Mapping[str, Any]],
             refs: Mapping[Key, list[Mapping[str, Any]]]) -> str:
    """A field conflict's values by system; an identity conflict's candidates, each with what tells them apart
    (name, e-mail, phone, company ...) and the records they hold in each system."""
    if row["kind"] != "identity":
        return "\n".join(f"{c['system']}={c['value']!r}" for c in row["candidates"])
    lines = []
    for c in row["candidates"]:
        key = (row["entity"], c["canonical_id"])
        record = records.get(key)
        facts = [_name(row["entity"], record)] + [plain(record[d]) for d in DETAILS.get(row["entity"], ())
                                                  if record is not None and record[d] not in (None, "")]
        sources = ", ".join(ref_text(ref) for ref in refs.get(key, []))
        lines.append("• " + ", ".join(fact for fact in facts if fact) + (" (new)" if c.get("new") else "")
                     + (f" [{sources}]" if sources else ""))
    return "\n".join(lines)


def _opened(row: Mapping[str, Any]) -> str:
    return row["opened_at"].strftime("%Y-%m-%d") if row["opened_at"] else ""


@conflicts_app.command("show")
@friendly_errors
def conflicts_show(conflict_id: int) -> None:
    """One conflict with every candidate: a field conflict's values with their source and time; an identity
    conflict's records with name, e-mail, phone, company and their ids in each system."""
    with store().connect() as conn:
        row = conn.execute(select(CONFLICT).where(CONFLICT.c.id == conflict_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no conflict {conflict_id}: see `crmsync conflicts list`")
        ids = [c["canonical_id"] for c in row["candidates"] if "canonical_id" in c] + [row["canonical_id"]]
        entity = row["entity"]
        records = records_by_id(conn, entity, ids) if entity in REVIEWED_ENTITIES else {}
        refs = refs_of(conn, entity, ids)
    say(f"conflict {row['id']}: {row['kind']} on {entity} {row['canonical_id']} "
        f"({label(entity, records.get(row['canonical_id']))})" + (f", field {row['field']}" if row["field"] else "")
        + f" [{row['status']}{': took ' + row['resolution'] if row['resolution'] else ''}]")
    if row["kind"] == "identity":
        _identity_table(row, entity, records, refs)
    else:
        table = DataTable("take", "value", "source time", "run")
        for c in row["candidates"]:
            table.add_row(c["system"], repr(c["value"]), c["source_ts"], c.get("run_id") or "")
        console.print(table)
    if row["status"] == "open":
        choice = "id" if row["kind"] == "identity" else "system"
        say(f"resolve with: crmsync conflicts resolve {row['id']} --take <{choice}>")


def _identity_table(row: Mapping[str, Any], entity: str, records: Mapping[str, Mapping[str, Any]],
                    refs: Mapping[str, list[Mapping[str, Any]]]) -> None:
    details = DETAILS.get(entity, ())
    table = DataTable("take (id)", "name", *details)
    table.add_column("source ids", overflow="fold")  # ids are long and must stay whole
    for c in row["candidates"]:
        record = records.get(c["canonical_id"])
        name = _name(entity, record)
        if record is not None and record["merged_into"]:
            name += f" (merged into {record['merged_into']})"
        values = [str(record[d]) if record is not None and record[d] is not None else "" for d in details]
        sources = [ref_text(ref) for ref in refs.get(c["canonical_id"], [])]
        table.add_row(c["canonical_id"] + (" (new)" if c.get("new") else ""), name, *values,
                      "\n".join(sources) or "-")
    console.print(table)


def _name(entity: str, record: Mapping[str, Any] | None) -> str:
    if record is None:
        return "(record not found)"
    if entity == "lead":
        return " ".join(p for p in (record["first_name"], record["last_name"]) if p)
    return str(record.get("name") or "")


@conflicts_app.command("resolve")
@friendly_errors
def conflicts_resolve(
    conflict_id: int,
    take: Annotated[str, typer.Option("--take", help="The system whose value wins (identity: the id to keep).")],
) -> None:
    """Resolve a conflict by taking one candidate; the decision is queued for write-back to every system."""
    from crmsync.commands.common import open_workspace
    from crmsync.sync_engine.review import resolve_conflict

    workspace = open_workspace(settings())
    try:
        done = resolve_conflict(workspace.engine, conflict_id, take, workspace.settings.merge, workspace.routes)
    finally:
        workspace.close()
    say(f"{done}; queued for write-back (the next `crmsync sync` or `serve` pushes it)")
