"""The outbox: canonical records other connections need, written in the same transaction as the change.

Routing is data: a connection receives an entity when one of its objects maps to that entity and is
configured `push` or `both`. Items are coalesced per (target, entity, record): ten changes to one lead before
the next drain are one push of its current state. A change coming from a connection is never routed back
to it (that would be an echo).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from crmsync.store.bulk import statement_chunks
from crmsync.store.models import OutboxItem
from crmsync.sync_engine.ingest import PageResult

OUTBOX: Table = OutboxItem.__table__  # type: ignore[assignment]
PUSHED_KINDS = frozenset({"create", "update"})


def _writes_everything(_field: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Route:
    """Records of `entity` are pushed to `target` as its `object`; `writes` says which canonical fields a push
    there carries (a change to none of them needs no push: an owner, a field the target never receives)."""

    target: str
    entity: str
    object: str
    writes: Callable[[str], bool] = _writes_everything


class OutboxRoutes:
    """entity → the (target connection, object) pairs that receive it."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.by_entity: dict[str, list[Route]] = {}
        for route in routes:
            known = self.by_entity.setdefault(route.entity, [])
            if all(r.target != route.target for r in known):  # the first object a target lists for an entity wins
                known.append(route)

    def targets(self, entity: str, source: str) -> list[Route]:
        return [route for route in self.by_entity.get(entity, []) if route.target != source]

    def route(self, target: str, entity: str) -> Route | None:
        return next((r for r in self.by_entity.get(entity, []) if r.target == target), None)


def _upsert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(OUTBOX)


Corrections = Mapping[tuple[str, str], Mapping[str, set[str]]]  # (entity, record) -> {target: fields}


def whole_record(entity: str, canonical_id: str, source: str) -> dict[str, Any]:
    """A change for `enqueue` that asks every target for the whole record (as a create does): after a merge or
    a person's decision, every field may differ from what a target holds."""
    return {"kind": "create", "entity": entity, "canonical_id": canonical_id, "system": source}


def enqueue(conn: Connection, routes: OutboxRoutes, changes: Sequence[Mapping[str, Any]], run_id: str | None,
            now: datetime | None = None, corrections: Corrections | None = None,
            deletes: Sequence[tuple[str, str, str]] = ()) -> int:
    """One pending item per (target, record) for every change that targets need, for every correction (a
    system whose value lost the merge gets the canonical one) and for every delete to propagate ((entity,
    record, connection it was deleted in): a delete item for each other target); returns items touched.

    An item remembers which canonical fields changed (all of them for a new record), so the push sends only
    those and cannot overwrite what someone changed meanwhile in the target."""
    now = now or datetime.now(UTC)
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(route: Route, canonical_id: str, source: str, changed: set[str] | None, kind: str = "upsert") -> None:
        if changed is not None and not any(map(route.writes, changed)):
            return
        key = (route.target, route.entity, canonical_id)
        known = rows.get(key)
        if known is not None:
            changed = None if known["fields"] is None or changed is None else changed | known["fields"]
        rows[key] = {
            "target": route.target, "entity": route.entity, "canonical_id": canonical_id, "source": source,
            "fields": changed, "kind": kind, "status": "pending", "attempts": 0, "next_attempt_at": now,
            "last_error": None, "run_id": run_id, "created_at": now, "updated_at": now}

    for change in changes:
        if change["kind"] in PUSHED_KINDS:
            changed = None if change["kind"] == "create" else set(change["changes"])
            for route in routes.targets(change["entity"], change["system"]):
                add(route, change["canonical_id"], change["system"], changed)
    for (entity, canonical_id), targets in (corrections or {}).items():
        for target, fields in targets.items():
            route = routes.route(target, entity)
            if route is not None:
                add(route, canonical_id, "merge", set(fields))
    for entity, canonical_id, source in deletes:
        for route in routes.targets(entity, source):
            add(route, canonical_id, source, None, "delete")
    if not rows:
        return 0
    for row in rows.values():
        row["fields"] = None if row["fields"] is None else ",".join(sorted(row["fields"]))
    values = list(rows.values())
    for part in statement_chunks(conn, values, len(OUTBOX.columns)):  # defaults fill the columns rows leave out
        statement = _upsert(conn).values(list(part))
        # A new change revives a dead letter and makes a waiting item due now: the record's state is new. Changed
        # fields accumulate (`||` concatenates text on SQLite and PostgreSQL; NULL, "everything", absorbs).
        statement = statement.on_conflict_do_update(
            index_elements=["target", "entity", "canonical_id"],
            set_={"status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": None,
                  "kind": statement.excluded.kind,
                  "fields": OUTBOX.c.fields.concat(",").concat(statement.excluded.fields),
                  "source": statement.excluded.source, "run_id": run_id, "updated_at": now})
        conn.execute(statement)
    return len(rows)


def changed_fields(value: str | None) -> frozenset[str] | None:
    """The `fields` column as a set; None means every field."""
    return None if value is None else frozenset(name for name in value.split(",") if name)


def outbox_hook(routes: OutboxRoutes, run_id: str | None) -> Callable[[Connection, PageResult, Any], None]:
    """An Ingestor page hook that enqueues the page's changes for their targets."""
    def hook(conn: Connection, result: PageResult, _records: Any) -> None:
        result.counts["queued"] += enqueue(conn, routes, result.changes, run_id, corrections=result.corrections,
                                           deletes=result.deletes)

    return hook


def depth(engine: Engine) -> dict[str, dict[str, int]]:
    """target → {"pending": n, "dead": n, "held": n}."""
    query = select(OUTBOX.c.target, OUTBOX.c.status, func.count()).group_by(OUTBOX.c.target, OUTBOX.c.status)
    found: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for target, status, count in conn.execute(query):
            found.setdefault(target, {"pending": 0, "dead": 0, "held": 0})[status] = count
    return found


def held_reasons(engine: Engine, limit: int = 5) -> dict[str, list[tuple[str, int]]]:
    """target → its most common reasons for holding records back, with how many each (for `crmsync status`)."""
    query = (select(OUTBOX.c.target, OUTBOX.c.last_error, func.count().label("n"))
             .where(OUTBOX.c.status == "held").group_by(OUTBOX.c.target, OUTBOX.c.last_error))
    found: dict[str, list[tuple[str, int]]] = {}
    with engine.connect() as conn:
        for target, reason, count in conn.execute(query):
            found.setdefault(target, []).append((reason or "", count))
    return {target: sorted(reasons, key=lambda r: -r[1])[:limit] for target, reasons in found.items()}


def list_items(engine: Engine, status: str | None = None, limit: int = 100) -> list[Mapping[str, Any]]:
    query = select(OUTBOX).order_by(OUTBOX.c.id).limit(limit)
    if status is not None:
        query = query.where(OUTBOX.c.status == status)
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


def retry(engine: Engine, item_ids: Sequence[int] | None) -> int:
    """Make dead letters (all of them when `item_ids` is None) pending and due now; returns how many."""
    now = datetime.now(UTC)
    where = OUTBOX.c.status == "dead"
    if item_ids is not None:
        where = and_(where, OUTBOX.c.id.in_(list(item_ids)))
    with engine.begin() as conn:
        return conn.execute(update(OUTBOX).where(where).values(
            status="pending", attempts=0, next_attempt_at=now, updated_at=now)).rowcount
