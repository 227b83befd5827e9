"""The one ingest path: source records -> mapping -> identity -> merge -> canonical store, a page at a time.

A page is one transaction: its records, their external refs, provenance, change log, conflicts, record
errors and (when given) the checkpoint that covers them commit together, so a crash never skips records.
A record that fails mapping is stored as a RecordError with its payload and the page goes on.
"""

from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, and_, select

from crmsync.config.deletes import DEFAULT_DELETE_POLICY, DeletePolicy
from crmsync.config.policy import MergePolicy
from crmsync.mappings.loader import MappingSet
from crmsync.store.bulk import insert_rows, update_rows
from crmsync.store.locks import lock_record_writes
from crmsync.store.models import ChangeLog, Checkpoint, Conflict, RecordError
from crmsync.sync_engine.identity import (
    DEFAULT_MATCH_KEYS,
    REF,
    Links,
    RefRow,
    Resolution,
    add_link,
    chunks,
    linked_sources,
    load_refs,
    resolve_unlinked,
)
from crmsync.sync_engine.merge import (
    CompiledPolicy,
    MergeOutcome,
    apply_outcome,
    merge_patch,
    new_record,
    value_key,
)
from crmsync.sync_engine.prepare import PreparedPage, prepare_page
from crmsync.sync_engine.records import CanonicalPatch, SourceRecord, merged_ids
from crmsync.sync_engine.seen import changed_values, next_seen, same_value
from crmsync.sync_engine.state import RecordState, load_states, write_states

if TYPE_CHECKING:  # deletes.py builds on this module
    from crmsync.sync_engine.deletes import DeleteGuard

CHANGE_LOG: Table = ChangeLog.__table__  # type: ignore[assignment]
CONFLICT: Table = Conflict.__table__  # type: ignore[assignment]
CHECKPOINT: Table = Checkpoint.__table__  # type: ignore[assignment]
RECORD_ERROR: Table = RecordError.__table__  # type: ignore[assignment]

RefKey = tuple[str, str, str]
REF_UPDATE_COLUMNS = ["seen_hash", "source_modified_at", "seen_at", "deleted_at", "seen_values"]
REF_INSERT_COLUMNS = ["system", "object", "external_id", "entity", "canonical_id", *REF_UPDATE_COLUMNS]
LOG_COLUMNS = ["entity", "canonical_id", "kind", "system", "run_id", "changed_at", "changes"]
_log_row = itemgetter(*LOG_COLUMNS)  # a change dict -> its change-log row, in LOG_COLUMNS order


@dataclass(slots=True)
class PageResult:
    """Counts (read, created, updated, unchanged, deleted, conflicts, failed), the change log rows written
    (a create's `changes` names the fields it set: {"fields": [...]}, one dict shared by creates with the same
    fields: read it, do not change it), which systems need a push for each changed record, and corrections:
    per record, the systems whose value lost the merge and the fields to set there to the canonical value."""

    counts: Counter[str] = field(default_factory=Counter)
    changes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    pushes: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    corrections: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)
    # (entity, record, connection): records a delete archived whose connection propagates deletes.
    deletes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CheckpointUpdate:
    connection: str
    stream: str
    cursor: Mapping[str, Any]


class Ingestor:
    def __init__(
        self,
        engine: Engine,
        mappings: MappingSet,
        policy: MergePolicy,
        match_keys: Mapping[str, Sequence[str]] | None = None,
        delete_policies: Mapping[str, DeletePolicy] | None = None,
    ) -> None:
        self.engine = engine
        self.mappings = mappings
        self.policy = CompiledPolicy(policy)
        self.match_keys = dict(DEFAULT_MATCH_KEYS if match_keys is None else match_keys)
        self.delete_policies = dict(delete_policies or {})  # by connection; unlisted: DEFAULT_DELETE_POLICY
        # Set by a run: the mass-delete rail, checked before a page's deletes are applied (sync_engine/deletes.py).
        self.delete_guard: DeleteGuard | None = None
        # Called inside each page's transaction after the records are applied (the outbox enqueues here,
        # so a change and the push it needs commit together; source-side merges are applied here).
        self.page_hooks: list[Callable[[Connection, PageResult, Sequence[SourceRecord]], None]] = []

    def ingest_page(
        self,
        records: Sequence[SourceRecord],
        run_id: str | None,
        checkpoint: CheckpointUpdate | None = None,
        dry_run: bool = False,
    ) -> PageResult:
        """Apply one page in one transaction (rolled back when `dry_run`); returns what it did."""
        with collector_paused():
            return self._apply_page(records, prepare_page(self.mappings, records), run_id, checkpoint, dry_run)

    def ingest_prepared(
        self,
        records: Sequence[SourceRecord],
        prepared: PreparedPage,
        run_id: str | None,
        checkpoint: CheckpointUpdate | None = None,
        dry_run: bool = False,
    ) -> PageResult:
        """`ingest_page` for a page already mapped and hashed (by `prepare_page` or a MappingWorker)."""
        with collector_paused():
            return self._apply_page(records, prepared, run_id, checkpoint, dry_run)

    def _apply_page(self, records: Sequence[SourceRecord], prepared: PreparedPage, run_id: str | None,
                    checkpoint: CheckpointUpdate | None, dry_run: bool) -> PageResult:
        result = PageResult()
        result.counts["read"] += len(records)
        now = datetime.now(UTC)
        for index, error in prepared.failures:
            record = records[index]
            result.counts["failed"] += 1
            result.errors.append({
                "run_id": run_id, "system": record.origin, "object": record.object,
                "external_id": record.external_id, "error": error, "payload": dict(record.payload),
                "created_at": now,
            })
        by_entity: dict[str, list[CanonicalPatch]] = defaultdict(list)
        for patch in prepared.patches:
            by_entity[patch.entity].append(patch)
        merged = {(r.origin, r.object, r.external_id): ids for r in records if (ids := merged_ids(r))}
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                # Before the first read: a page decides on what the store holds when it writes (store/locks.py).
                lock_record_writes(conn)
                if self.delete_guard is not None:
                    self.delete_guard.check(conn, [p for p in prepared.patches if p.deleted])
                # Parents first, so a contact's AccountId in the same page resolves to the company it names.
                for entity in sorted(by_entity, key=["company", "lead", "deal", "activity", "payment"].index):
                    self._resolve_refs(conn, by_entity[entity])
                    _PageApplier(self, conn, entity, run_id, now, result, merged).apply(by_entity[entity])
                if result.errors:
                    conn.execute(RECORD_ERROR.insert(), result.errors)
                for hook in self.page_hooks:
                    hook(conn, result, records)
                if checkpoint is not None:
                    save_checkpoint(conn, checkpoint, run_id, now)
            except BaseException:
                transaction.rollback()
                raise
            if dry_run:
                transaction.rollback()
            else:
                transaction.commit()
        return result

    def _resolve_refs(self, conn: Connection, patches: Sequence[CanonicalPatch]) -> None:
        """Turn `ref` fields (another record's id in the same system) into canonical ids where known."""
        wanted = [(p.system, ref.object, ref.external_id) for p in patches for ref in p.refs.values()]
        if not wanted:
            return
        found = load_refs(conn, wanted)
        for patch in patches:
            for name, ref in patch.refs.items():
                row = found.get((patch.system, ref.object, ref.external_id))
                if row is not None and not row.deleted:
                    patch.values[name] = row.canonical_id


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a page is applied.

    A page's patches, states and rows all live until the page commits, so every collection the allocations
    trigger mid-page walks them again without freeing anything (bench/merge.py: about a sixth of ingest time).
    Reference counting still frees what the page drops; cycles wait for the first collection after it. The
    collector is re-enabled only by the caller that found it enabled, so concurrent pages (the webhook
    processor beside a scheduled pass) and a host that keeps it disabled are both left as they expect.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@lru_cache(maxsize=1024)
def created_fields(names: tuple[str, ...]) -> dict[str, list[str]]:
    """What the change log keeps for a create: the fields it set, by name. Their values are the record's first
    values (every later change logs old -> new) and its provenance names the assertion that set them, so the
    row does not copy each value again. One shared dict per field set: encoded once per batch."""
    return {"fields": sorted(names)}


def save_checkpoint(conn: Connection, update: CheckpointUpdate, run_id: str | None, now: datetime) -> None:
    values = {"cursor": dict(update.cursor), "run_id": run_id, "updated_at": now}
    where = and_(CHECKPOINT.c.connection == update.connection, CHECKPOINT.c.stream == update.stream)
    if conn.execute(CHECKPOINT.update().where(where).values(**values)).rowcount == 0:
        conn.execute(CHECKPOINT.insert().values(connection=update.connection, stream=update.stream, **values))


class _PageApplier:
    """Applies the patches of one entity within a page's transaction."""

    def __init__(self, ingestor: Ingestor, conn: Connection, entity: str, run_id: str | None, now: datetime,
                 result: PageResult, merged_ids: Mapping[RefKey, Sequence[str]] | None = None) -> None:
        self.ingestor, self.conn, self.entity = ingestor, conn, entity
        self.merged_ids = merged_ids or {}  # ref key -> ids of the records its system merged into it
        self.run_id, self.now, self.result = run_id, now, result
        # Rows in REF_INSERT_COLUMNS / REF_UPDATE_COLUMNS order, as tuples of plain values (untracked by the
        # collector); a later patch for the same ref replaces its row.
        self.new_refs: dict[RefKey, tuple[Any, ...]] = {}
        self.ref_updates: dict[int, tuple[Any, ...]] = {}
        self.field_conflicts: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.identity_conflicts: list[dict[str, Any]] = []
        # What each source record's system holds after this page (ExternalRef.seen_values), by ref key.
        self.seen: dict[RefKey, Mapping[str, Any]] = {}
        self.first_change = len(result.changes)  # this entity's change-log rows are result.changes[first_change:]

    def apply(self, patches: Sequence[CanonicalPatch]) -> None:
        keys: list[RefKey] = [(p.system, p.object, p.external_id) for p in patches]
        refs = load_refs(self.conn, keys)
        # Patches to apply, their ref keys and hashes side by side: no per-record tuple holding a patch for the
        # whole page.
        todo: list[CanonicalPatch] = []
        todo_keys: list[RefKey] = []
        hashes: list[str] = []
        for patch, key in zip(patches, keys, strict=True):
            content_hash = patch.seen_hash or patch.content_hash()
            ref = refs.get(key)
            # Same content as last seen, or as what we pushed there ourselves (an echo): nothing to do.
            if ref and ref.deleted == patch.deleted and (
                    patch.deleted or content_hash in (ref.seen_hash, ref.pushed_hash)):
                self.result.counts["unchanged"] += 1  # nothing new, or a delete we know of (our own, say)
                continue
            if not patch.deleted:
                seen = self.seen.get(key, ref.seen_values if ref else None)
                self.seen[key] = next_seen(seen, patch.values, patch.cleared, patch.partial)
                if ref and ref.pushed_hash and patch.echo_hash() == ref.pushed_hash:
                    # What we pushed came back, plus fields we never write (owners ...): only those are news.
                    patch.without_written_back()
                # Only what changed in that system since we last saw it is asserted at this record's time
                # (seen.py); the other fields keep their earlier assertion. A partial record (a webhook's
                # change event) is nothing but what changed, at the time it changed: it is asserted as it is.
                if not patch.partial:
                    patch.values = changed_values(seen, patch.values)
            todo.append(patch)
            todo_keys.append(key)
            hashes.append(content_hash)
        unlinked: dict[RefKey, CanonicalPatch] = {}
        for patch, key in zip(todo, todo_keys, strict=True):
            if key not in refs and not patch.deleted:
                unlinked.setdefault(key, patch)
        # A record its system made by merging records crmsync knows (a HubSpot contact merge gives the survivor a
        # new id) is those records' person: identity has nothing to find (source_merges.py joins the others).
        resolutions = self._survivors_of_merges(unlinked)
        for key in resolutions:
            del unlinked[key]
        stored_links: Links = {}
        resolutions.update(zip(unlinked, resolve_unlinked(
            self.conn, self.entity, list(unlinked.values()), self.ingestor.match_keys.get(self.entity, []),
            stored_links), strict=True))
        existing = {r.canonical_id for r in refs.values()} | {
            r.canonical_id for r in resolutions.values() if not r.is_new}
        states = load_states(self.conn, self.entity, existing)
        for state in states.values():
            state.changed = ()  # tracked from here on: updates set only the columns that changed
        # Links of matched records were read during identity resolution; read only the others'.
        linked = {cid: stored_links[cid] for cid in existing if cid in stored_links}
        linked.update(linked_sources(self.conn, self.entity, [cid for cid in existing if cid not in stored_links]))
        for patch, key, content_hash in zip(todo, todo_keys, hashes, strict=True):
            self._apply_one(patch, key, content_hash, refs.get(key), resolutions.get(key), states, linked)
        write_states(self.conn, self.entity, states, self.now)
        self._write_refs()
        insert_rows(self.conn, CHANGE_LOG, LOG_COLUMNS, list(map(_log_row, self.result.changes[self.first_change:])))
        self._write_conflicts()

    def _apply_one(self, patch: CanonicalPatch, key: RefKey, content_hash: str, ref: RefRow | None,
                   resolution: Resolution | None, states: dict[str, RecordState],
                   linked: Links) -> None:
        counts = self.result.counts
        if resolution is not None and resolution.is_new and patch.link_only:
            counts["unmatched"] += 1  # may only join a record identity finds (a caller's number): none found
            return
        if ref is None and resolution is None:
            pending = self.new_refs.get(key)
            if pending is None:  # a delete for a record we never saw
                counts["unchanged"] += 1
                return
            canonical_id = pending[4]  # REF_INSERT_COLUMNS: system, object, external_id, entity, canonical_id
        else:
            canonical_id = ref.canonical_id if ref else resolution.canonical_id  # type: ignore[union-attr]
        state = states.get(canonical_id)
        if state is None:
            counts["created"] += 1
            created = None if patch.deleted else new_record(self.entity, patch, self.ingestor.policy, self.run_id)
            if created is not None:  # the common case: a new record takes the patch as it comes, no merge
                values, source = created
                states[canonical_id] = RecordState(values, {}, is_new=True, source=source)
                if values:
                    self._log(canonical_id, "create", patch.system, created_fields(source[3]))
                add_link(linked, canonical_id, (patch.system, patch.object))
                self._link(patch, key, content_hash, ref, resolution, canonical_id)
                return
            state = states[canonical_id] = RecordState({}, {}, is_new=True)
            kind = "create"
        else:
            kind = "update"
        if patch.deleted:
            self._delete(patch, canonical_id, state, linked)
        else:
            state.expand()
            outcome = merge_patch(self.entity, state.values, state.provenance, patch, self.ingestor.policy,
                                  self.run_id)
            apply_outcome(state.values, state.provenance, outcome)
            state.provenance_dirty = state.provenance_dirty or bool(outcome.provenance)
            for name, candidates in outcome.conflicts:
                self.field_conflicts.setdefault((canonical_id, name), []).extend(candidates)
            self._correct_losers(patch, canonical_id, state, outcome)
            if outcome.changes:
                state.dirty = True
                _mark_changed(state, outcome.changes)
                if state.deleted_at is not None:  # archived, and edited since in a system that still holds it
                    state.deleted_at = None
                    _mark_changed(state, ("deleted_at",))
                self._log(canonical_id, kind, patch.system,
                          created_fields(tuple(outcome.changes)) if kind == "create" else outcome.changes)
                others = {system for system, _ in linked.get(canonical_id, ())} - {patch.system}
                if others:
                    self.result.pushes[(self.entity, canonical_id)].update(others)
                if kind == "update":
                    counts["updated"] += 1
            elif kind == "update":
                counts["unchanged"] += 1
            add_link(linked, canonical_id, (patch.system, patch.object))
        self._link(patch, key, content_hash, ref, resolution, canonical_id)

    def _survivors_of_merges(self, unlinked: Mapping[RefKey, CanonicalPatch]) -> dict[RefKey, Resolution]:
        merged = {key: ids for key in unlinked if (ids := self.merged_ids.get(key))}
        if not merged:
            return {}
        known = load_refs(self.conn, [(system, obj, old) for (system, obj, _), ids in merged.items() for old in ids])
        found = {}
        for (system, obj, external_id), ids in merged.items():
            ref = next((known[(system, obj, old)] for old in ids if (system, obj, old) in known), None)
            if ref is not None:
                found[(system, obj, external_id)] = Resolution(ref.canonical_id, is_new=False)
        return found

    def _correct_losers(self, patch: CanonicalPatch, canonical_id: str, state: RecordState,
                        outcome: MergeOutcome) -> None:
        """A field the source asserted and the merge decided otherwise is set back there to the canonical value:
        left alone, that system would keep its losing value for good (nothing else pushes to it)."""
        writes = patch.written_back
        if writes is None:
            return
        undecided = {name for name, _ in outcome.conflicts}
        values = state.values
        lost = {name for name, value in patch.values.items()
                if name not in undecided and writes(name) and not same_value(values.get(name), value)}
        if lost:
            targets = self.result.corrections.setdefault((self.entity, canonical_id), {})
            targets.setdefault(patch.system, set()).update(lost)

    def _link(self, patch: CanonicalPatch, key: RefKey, content_hash: str, ref: RefRow | None,
              resolution: Resolution | None, canonical_id: str) -> None:
        """Record the ref (and an identity conflict when the match was ambiguous)."""
        if resolution is not None and resolution.ambiguous_with:
            self.identity_conflicts.append(self._identity_conflict(patch, canonical_id, resolution))
        self._track_ref(patch, key, content_hash, ref, canonical_id)

    def _delete(self, patch: CanonicalPatch, canonical_id: str, state: RecordState,
                linked: Links) -> None:
        """A record deleted in its system: the link goes, and the canonical record is archived as the system's
        delete policy says (config/deletes.py); logged either way."""
        self.result.counts["deleted"] += 1
        gone = (patch.system, patch.object)
        live = linked[canonical_id] = tuple(pair for pair in linked.get(canonical_id, ()) if pair != gone)
        policy = self.ingestor.delete_policies.get(patch.system, DEFAULT_DELETE_POLICY)
        changes: dict[str, Any] = {"deleted_in": [None, f"{patch.system} {patch.object} {patch.external_id}"]}
        # `ignore` archives only what no system holds any more; and while the deleting system still holds the
        # person in another record (its users merged two of theirs), the person is not gone from it.
        still_there = any(system == patch.system for system, _ in live)
        if state.deleted_at is None and not still_there and (policy != "ignore" or not live):
            state.deleted_at, state.dirty = self.now, True
            _mark_changed(state, ("deleted_at",))
            changes["deleted_at"] = [None, self.now]
            if policy == "propagate" and live:
                self.result.deletes.append((self.entity, canonical_id, patch.system))
        self._log(canonical_id, "delete", patch.system, changes)

    def _log(self, canonical_id: str, kind: str, system: str, changes: dict[str, Any]) -> None:
        self.result.changes.append({"entity": self.entity, "canonical_id": canonical_id, "kind": kind,
                                    "system": system, "run_id": self.run_id, "changed_at": self.now,
                                    "changes": changes})

    def _track_ref(self, patch: CanonicalPatch, key: RefKey, content_hash: str, ref: RefRow | None,
                   canonical_id: str) -> None:
        seen = self.seen.get(key, ref.seen_values if ref is not None else None)
        # REF_UPDATE_COLUMNS
        values = (content_hash, patch.source_ts, self.now, self.now if patch.deleted else None, seen)
        if ref is not None:
            self.ref_updates[ref.id] = (*values, ref.id)
        else:
            self.new_refs[key] = (*key, self.entity, canonical_id, *values)

    def _identity_conflict(self, patch: CanonicalPatch, canonical_id: str, resolution: Resolution) -> dict[str, Any]:
        candidates = [{"canonical_id": cid} for cid in resolution.ambiguous_with]
        candidates.append({"canonical_id": canonical_id, "system": patch.system, "object": patch.object,
                           "external_id": patch.external_id, "new": True})
        return {"kind": "identity", "entity": self.entity, "canonical_id": canonical_id, "field": None,
                "status": "open", "candidates": candidates, "opened_at": self.now, "run_id": self.run_id}

    def _write_refs(self) -> None:
        insert_rows(self.conn, REF, REF_INSERT_COLUMNS, list(self.new_refs.values()))
        update_rows(self.conn, REF, REF_UPDATE_COLUMNS, ["id"], list(self.ref_updates.values()))

    def _write_conflicts(self) -> None:
        """Open field conflicts, adding candidates to one already open on the same field instead of a second."""
        rows = list(self.identity_conflicts)
        if self.field_conflicts:
            open_ones: dict[tuple[str, str], Any] = {}
            ids = sorted({cid for cid, _ in self.field_conflicts})
            for part in chunks(ids):
                query = select(CONFLICT.c.id, CONFLICT.c.canonical_id, CONFLICT.c.field, CONFLICT.c.candidates).where(
                    and_(CONFLICT.c.entity == self.entity, CONFLICT.c.kind == "field",
                         CONFLICT.c.status == "open", CONFLICT.c.canonical_id.in_(part)))
                open_ones.update({(r.canonical_id, r.field): r for r in self.conn.execute(query)})
            for (canonical_id, name), candidates in self.field_conflicts.items():
                current = open_ones.get((canonical_id, name))
                merged = _dedupe(list(current.candidates) if current else [], candidates)
                if current is None:
                    rows.append({"kind": "field", "entity": self.entity, "canonical_id": canonical_id,
                                 "field": name, "status": "open", "candidates": merged, "opened_at": self.now,
                                 "run_id": self.run_id})
                elif len(merged) != len(current.candidates):
                    self.conn.execute(CONFLICT.update().where(CONFLICT.c.id == current.id).values(candidates=merged))
        if rows:
            self.conn.execute(CONFLICT.insert(), rows)
            self.result.counts["conflicts"] += len(rows)


def _mark_changed(state: RecordState, names: Iterable[str]) -> None:
    if state.changed is not None:
        state.changed += tuple(names)


def _dedupe(existing: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates unique by (system, value); the stored form (JSON) is what counts as equal."""
    seen = {(c["system"], value_key(c["value"])) for c in existing}
    merged = list(existing)
    for candidate in new:
        key = (candidate["system"], value_key(candidate["value"]))
        if key not in seen:
            seen.add(key)
            merged.append(candidate)
    return merged
