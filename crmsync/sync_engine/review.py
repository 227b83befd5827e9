"""What a person decides: resolve a conflict, merge two canonical records into one.

A merge keeps everything: the absorbed record stays (marked merged_into), its external refs and links move
to the survivor, its fields are merged into the survivor by the same policy with their own provenance, and
both records get a change-log row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, select, update

from crmsync.config.policy import MergePolicy
from crmsync.errors import CrmsyncError, NotFoundError
from crmsync.mappings.transforms import coercer
from crmsync.store.locks import lock_record_writes
from crmsync.store.models import DealPerson, field_type
from crmsync.sync_engine.identity import REF
from crmsync.sync_engine.ingest import CHANGE_LOG, CONFLICT
from crmsync.sync_engine.merge import DECISION_PREFIX, CompiledPolicy, apply_outcome, iso_utc, merge_patch
from crmsync.sync_engine.outbox import OutboxRoutes, enqueue, whole_record
from crmsync.sync_engine.records import CanonicalPatch
from crmsync.sync_engine.state import entity_table, load_states, write_states

DEAL_PERSON: Table = DealPerson.__table__  # type: ignore[assignment]
# Columns elsewhere that point at a record of each entity and must follow it through a merge.
LINKS: dict[str, list[tuple[str, str]]] = {
    "company": [("lead", "company_id"), ("deal", "company_id")],
    "lead": [("activity", "lead_id"), ("payment", "lead_id")],
    "deal": [("activity", "deal_id"), ("payment", "deal_id")],
}


def merge_records(conn: Connection, entity: str, survivor: str, absorbed: str, policy: MergePolicy,
                  reason: str = "manual") -> dict[str, list[Any]]:
    """Join `absorbed` into `survivor`; returns the survivor's field changes."""
    if survivor == absorbed:
        raise CrmsyncError(f"cannot merge {entity} {survivor} into itself")
    now = datetime.now(UTC)
    states = load_states(conn, entity, [survivor, absorbed])
    for record_id in (survivor, absorbed):
        if record_id not in states:
            raise NotFoundError(f"no {entity} with id {record_id}")
    keep, gone = states[survivor], states[absorbed]
    compiled = CompiledPolicy(policy)
    # Replay the absorbed record's fields grouped by the source assertion that set them.
    groups: dict[tuple[str, str, str | None], dict[str, Any]] = defaultdict(dict)
    for name, value in gone.values.items():
        system, ts, run = gone.provenance.get(name, ["merge", "1970-01-01T00:00:00.000000+00:00", None])
        groups[(system, ts, run)][name] = value
    changes: dict[str, list[Any]] = {}
    for (system, ts, run), values in sorted(groups.items(), key=lambda item: item[0][1]):
        patch = CanonicalPatch(entity, system, entity, absorbed, datetime.fromisoformat(ts), values)
        outcome = merge_patch(entity, keep.values, keep.provenance, patch, compiled, run)
        for name, (old, new) in outcome.changes.items():
            changes[name] = [changes.get(name, [old])[0], new]
        apply_outcome(keep.values, keep.provenance, outcome)
        keep.provenance_dirty = keep.provenance_dirty or bool(outcome.provenance)
    keep.dirty = bool(changes)
    write_states(conn, entity, {survivor: keep}, now)
    table = entity_table(entity)
    conn.execute(update(table).where(table.c.id == absorbed).values(merged_into=survivor, deleted_at=now,
                                                                     updated_at=now))
    conn.execute(update(REF).where(and_(REF.c.entity == entity, REF.c.canonical_id == absorbed))
                 .values(canonical_id=survivor))
    for other_entity, column in LINKS.get(entity, []):
        other = entity_table(other_entity)
        conn.execute(update(other).where(other.c[column] == absorbed).values({column: survivor}))
    if entity in ("lead", "deal"):
        _move_deal_people(conn, "lead_id" if entity == "lead" else "deal_id", survivor, absorbed)
    conn.execute(update(CONFLICT).where(and_(CONFLICT.c.entity == entity, CONFLICT.c.canonical_id == absorbed,
                                             CONFLICT.c.status == "open")).values(canonical_id=survivor))
    conn.execute(CHANGE_LOG.insert(), [
        {"entity": entity, "canonical_id": survivor, "kind": "merge", "system": reason, "run_id": None,
         "changed_at": now, "changes": {"absorbed": [None, absorbed], **changes}},
        {"entity": entity, "canonical_id": absorbed, "kind": "merge", "system": reason, "run_id": None,
         "changed_at": now, "changes": {"merged_into": [None, survivor]}},
    ])
    return changes


def _move_deal_people(conn: Connection, column: str, survivor: str, absorbed: str) -> None:
    other = "deal_id" if column == "lead_id" else "lead_id"
    taken = select(DEAL_PERSON.c[other]).where(DEAL_PERSON.c[column] == survivor)
    conn.execute(update(DEAL_PERSON).where(and_(DEAL_PERSON.c[column] == absorbed,
                                                DEAL_PERSON.c[other].not_in(taken))).values({column: survivor}))
    conn.execute(DEAL_PERSON.delete().where(DEAL_PERSON.c[column] == absorbed))


def resolve_conflict(engine: Engine, conflict_id: int, take: str, policy: MergePolicy,
                     routes: OutboxRoutes | None = None) -> str:
    """Close a conflict: a field conflict takes the named system's value; an identity conflict keeps the
    named canonical id and merges the other candidates into it. Returns what was done, for the user.

    The decision reaches every system like any other change: with `routes`, the records it changed are queued
    for write-back in the same transaction (the field to every system but the one taken; a merged record, all
    of it, to every system)."""
    with engine.begin() as conn:
        lock_record_writes(conn)  # a record is read, changed and written back, as a page apply does
        row = conn.execute(select(CONFLICT).where(CONFLICT.c.id == conflict_id)).mappings().first()
        if row is None:
            raise NotFoundError(f"no conflict {conflict_id}: see `crmsync conflicts list`")
        if row["status"] != "open":
            raise CrmsyncError(f"conflict {conflict_id} is already {row['status']} ({row['resolution']})")
        now = datetime.now(UTC)
        if row["kind"] == "identity":
            ids = [c["canonical_id"] for c in row["candidates"]]
            if take not in ids:
                raise CrmsyncError(f"--take must be one of the candidate ids: {', '.join(ids)}")
            for other in ids:
                if other != take:
                    merge_records(conn, row["entity"], take, other, policy, reason=f"conflict:{conflict_id}")
            change = whole_record(row["entity"], take, "review")
            done = f"merged {len(ids) - 1} record(s) into {row['entity']} {take}"
        else:
            done, change = _take_field_value(conn, row, take, now)
        if routes is not None:
            enqueue(conn, routes, [change], None, now)
        conn.execute(update(CONFLICT).where(CONFLICT.c.id == conflict_id)
                     .values(status="resolved", resolved_at=now, resolution=take))
    return done


def _take_field_value(conn: Connection, row: Any, take: str, now: datetime) -> tuple[str, dict[str, Any]]:
    offered = [c for c in row["candidates"] if c["system"] == take]
    if not offered:
        systems = sorted({c["system"] for c in row["candidates"]})
        raise CrmsyncError(f"--take must be one of the systems in conflict {row['id']}: {', '.join(systems)}")
    chosen = max(offered, key=lambda c: c["source_ts"])
    entity, record_id, name = row["entity"], row["canonical_id"], row["field"]
    states = load_states(conn, entity, [record_id])
    state = states[record_id]
    old = state.values.get(name)
    column_type = field_type(entity, name)
    coerce = coercer(column_type) if column_type else None
    # Candidates were stored as JSON: bring dates and amounts back to their column type.
    state.values[name] = coerce(chosen["value"], {}) if coerce and chosen["value"] is not None else chosen["value"]
    # A person's decision, at the time it was made: only an edit made after it in some system changes the field
    # again (merge.py); a stale assertion older than the decision never reopens the question.
    state.provenance[name] = [take, iso_utc(now), f"{DECISION_PREFIX}{row['id']}"]
    state.dirty = state.provenance_dirty = True
    write_states(conn, entity, states, now)
    changes = {name: [old, chosen["value"]]}
    conn.execute(CHANGE_LOG.insert().values(
        entity=entity, canonical_id=record_id, kind="resolve", system=take, run_id=None, changed_at=now,
        changes=changes))
    change = {"kind": "update", "entity": entity, "canonical_id": record_id, "system": take, "changes": changes}
    return f"{entity} {record_id}: {name} = {chosen['value']!r} (from {take})", change
