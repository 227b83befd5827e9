"""The outbox drainer: pushes due items to their target connection in batches through its writer.

Per batch: load the records' current canonical state, map it to the target's payload (refs resolved to
the target's own ids), write, then in one transaction store the returned external ids with the hash of what
was pushed (so reading it back is recognised as our own echo) and remove the items — unless the record
changed again meanwhile, in which case the item stays due. A transient failure of the whole call is retried
at once with tenacity (honouring Retry-After); what still fails waits with exponential backoff and becomes a
dead letter after `max_attempts`. A row the target refuses for good (validation) is a dead letter at once.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from crmsync.connectors.base import (
    Capability,
    QuotaExhausted,
    RateLimited,
    TransientError,
    WriteItem,
    WriteResult,
)
from crmsync.errors import MappingError, RecordNotWritable
from crmsync.sync_engine import lease
from crmsync.sync_engine.identity import REF, chunks
from crmsync.sync_engine.outbox import OUTBOX, Route, changed_fields
from crmsync.sync_engine.records import CanonicalPatch, SourceRecord
from crmsync.sync_engine.review import LINKS
from crmsync.sync_engine.state import entity_table, load_states
from crmsync.sync_engine.workspace import Workspace

log = logging.getLogger("crmsync.writeback")


class DrainStopped(Exception):
    """Raised inside a retry wait when the drain is asked to stop (not an error: the drain ends)."""

ENTITY_ORDER = ("company", "lead", "deal", "activity", "payment")
CALL_ATTEMPTS = 3  # immediate tries of one write call before its items wait for the next drain


@dataclass(frozen=True, slots=True)
class DueItem:
    id: int
    entity: str
    canonical_id: str
    attempts: int
    updated_at: datetime
    fields: str | None  # changed canonical fields (None: all)
    kind: str = "upsert"  # or delete


@dataclass(frozen=True, slots=True)
class Prepared:
    item: DueItem
    object: str
    write: WriteItem
    pushed_hash: str | None
    # The canonical values the push sets there, as the target will report them (ExternalRef.seen_values).
    pushed_values: Mapping[str, Any]


class OutboxDrainer:
    """Drains the outbox; `stop` (an Event, set by Ctrl-C or a shutting-down `serve`) ends it between batches
    and cuts short any wait between retries."""

    def __init__(self, workspace: Workspace, sleep: Callable[[float], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.workspace = workspace
        self.settings = workspace.settings.outbox
        self.stop = stop or threading.Event()
        self.sleep = sleep or self._sleep_unless_stopped

    def _sleep_unless_stopped(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise DrainStopped

    def drain(self, targets: Sequence[str] | None = None) -> dict[str, Counter[str]]:
        """Push everything due, per target; returns counts (pushed, failed, dead, skipped) per target."""
        names = targets or sorted({r.target for routes in self.workspace.routes.by_entity.values() for r in routes})
        results: dict[str, Counter[str]] = {}
        for name in names:
            if self.stop.is_set():
                break
            key = f"outbox:{name}"
            if not lease.acquire(self.workspace.engine, key):
                log.info("outbox of %s is being drained by another process", name)
                continue
            try:
                results[name] = self._drain_target(name)
            except DrainStopped:
                break  # the batch in flight was not written: its items stay due for the next drain
            finally:
                lease.release(self.workspace.engine, key)
        return results

    def _drain_target(self, target: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        seen: set[int] = set()
        while not self.stop.is_set():
            due = [item for item in self._due(target) if item.id not in seen]
            if not due:
                return +counts  # without zero entries
            seen.update(item.id for item in due)
            by_entity: dict[str, list[DueItem]] = defaultdict(list)
            for item in due:
                by_entity[item.entity].append(item)
            # Parents first: a contact's company, a call's person must be in the target to be referred to.
            for entity, items in sorted(by_entity.items(), key=lambda group: ENTITY_ORDER.index(group[0])):
                try:
                    counts.update(self._push(target, entity, items))
                except QuotaExhausted as exc:
                    log.warning("outbox of %s paused: %s", target, exc)
                    counts["paused"] += len(items)
                    return counts
        return +counts

    def _due(self, target: str) -> list[DueItem]:
        query = (select(OUTBOX.c.id, OUTBOX.c.entity, OUTBOX.c.canonical_id, OUTBOX.c.attempts, OUTBOX.c.updated_at,
                        OUTBOX.c.fields, OUTBOX.c.kind)
                 .where(and_(OUTBOX.c.target == target, OUTBOX.c.status == "pending",
                             OUTBOX.c.next_attempt_at <= datetime.now(UTC)))
                 .order_by(OUTBOX.c.id).limit(self.settings.batch_size))
        with self.workspace.engine.connect() as conn:
            return [DueItem(*row) for row in conn.execute(query)]

    # -- one batch ---------------------------------------------------------------------------------------
    def _push(self, target: str, entity: str, items: list[DueItem]) -> Counter[str]:
        counts: Counter[str] = Counter()
        route = self.workspace.routes.route(target, entity)
        if route is None:  # the configuration no longer pushes this entity there
            self._finish(items)
            counts["skipped"] += len(items)
            return counts
        prepared, skipped, refused, held = self._prepare(target, route, items)
        self._finish(skipped)
        counts["skipped"] += len(skipped)
        for item, error in refused:
            self._fail(item, error, retryable=False)
            counts["dead"] += 1
        for item, reason in held:
            self._hold(item, reason)
            counts["held"] += 1
        by_object: dict[str, list[Prepared]] = defaultdict(list)
        for entry in prepared:
            by_object[entry.object].append(entry)
        for object_name, entries in by_object.items():
            try:
                results = self._write(target, object_name, [e.write for e in entries])
            except (TransientError, MappingError) as exc:
                retryable = isinstance(exc, TransientError)
                for entry in entries:
                    counts["dead" if self._fail(entry.item, str(exc), retryable) else "failed"] += 1
                continue
            done = []
            for entry, result in zip(entries, results, strict=True):
                if result.ok:
                    done.append((entry, result))
                    counts["deleted" if entry.write.delete else "pushed"] += 1
                elif result.held:
                    self._hold(entry.item, result.error or "the target cannot hold this record")
                    counts["held"] += 1
                else:
                    dead = self._fail(entry.item, result.error or "refused", result.retryable)
                    counts["dead" if dead else "failed"] += 1
            self._store_pushed(target, entity, done)
        return counts

    def _prepare(self, target: str, route: Route, items: list[DueItem]
                 ) -> tuple[list[Prepared], list[DueItem], list[tuple[DueItem, str]], list[tuple[DueItem, str]]]:
        """Items as writes, and those to skip (nothing to do), refuse (dead letters) and hold (with a reason)."""
        system = self.workspace.connection(target).system
        mappings = self.workspace.mappings_for(target)
        deletes_there = Capability.DELETE_WRITES in self.workspace.connector(target).capabilities
        prepared: list[Prepared] = []
        skipped: list[DueItem] = []
        refused: list[tuple[DueItem, str]] = []
        held: list[tuple[DueItem, str]] = []
        with self.workspace.engine.connect() as conn:
            states = load_states(conn, route.entity, [i.canonical_id for i in items])
            known, deleted_there = _target_refs(conn, target, route.entity, [i.canonical_id for i in items])
            resolve = _ref_resolver(conn, target)
            for item in items:
                state = states.get(item.canonical_id)
                # The record the target holds for it in each object (a Lead and a Contact, say), or a new one.
                copies = known.get(item.canonical_id) or [(route.object, None)]
                if item.kind == "delete":
                    if copies[0][1] is None or not deletes_there:
                        skipped.append(item)  # the target never held it, or crmsync does not delete there
                    else:
                        prepared += [Prepared(item, obj, WriteItem(item.canonical_id, {}, external_id, delete=True),
                                              None, {}) for obj, external_id in copies]
                    continue
                if state is None or state.deleted_at is not None or (
                        copies[0][1] is None and item.canonical_id in deleted_there):
                    # Archived or merged away; or deleted in the target itself, which is never written to again
                    # (a push would bring back a record someone deleted there).
                    skipped.append(item)
                    continue
                try:
                    entries = [self._prepare_copy(system, target, mappings.get(system, obj), item, state.values,
                                                  obj, external_id, resolve) for obj, external_id in copies]
                except RecordNotWritable as exc:
                    held.append((item, str(exc)))
                    continue
                except MappingError as exc:
                    refused.append((item, f"cannot map to {system} {copies[0][0]}: {exc}"))
                    continue
                writes = [entry for entry in entries if entry is not None]
                if writes:
                    prepared += writes
                else:
                    skipped.append(item)  # nothing this target receives changed
        return prepared, skipped, refused, held

    @staticmethod
    def _prepare_copy(system: str, target: str, mapper: Any, item: DueItem, values: Mapping[str, Any],
                      object_name: str, external_id: str | None, resolve: Callable[[str, str], str | None]
                      ) -> Prepared | None:
        """One record's write to the target: None when the push would carry nothing.

        A record the target holds gets only the fields that changed (every field it has when the item says
        "all"), so a push never overwrites an edit made there meanwhile in another field and never repeats what
        is set only on create; a new one gets everything, and must have what the target requires to create it
        (RecordNotWritable otherwise)."""
        if external_id is None:
            payload = full = mapper.to_payload(values, resolve, creating=True)
        else:
            held_fields = frozenset(values)
            full = mapper.to_payload(values, resolve, held_fields)
            payload = mapper.to_payload(values, resolve, changed_fields(item.fields) or held_fields)
        if not payload:
            return None
        # The echo hash covers the whole record as the target will hold it after this push.
        echo = _as_read_back(mapper, system, target, object_name, full)
        pushed = echo if payload is full else _as_read_back(mapper, system, target, object_name, payload)
        pushed_values = {} if pushed is None else {
            **pushed.values, **{name: values[name] for name in pushed.refs if name in values}}
        return Prepared(item, object_name, WriteItem(item.canonical_id, payload, external_id),
                        echo.echo_hash() if echo else None, pushed_values)

    def _write(self, target: str, object_name: str, writes: list[WriteItem]) -> list[WriteResult]:
        connector = self.workspace.connector(target)
        retrying = Retrying(
            stop=stop_after_attempt(CALL_ATTEMPTS), retry=retry_if_exception_type(TransientError),
            wait=self._wait, reraise=True, sleep=self.sleep,
            before_sleep=lambda state: log.warning("push to %s %s failed (%s); retrying", target, object_name,
                                                   state.outcome.exception() if state.outcome else "?"))
        return list(retrying(connector.write, object_name, writes))

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.settings.retry_max_seconds)
        backoff = wait_exponential(multiplier=min(1.0, self.settings.retry_initial_seconds), max=30)
        return float(backoff(state))

    # -- bookkeeping -------------------------------------------------------------------------------------
    def _fail(self, item: DueItem, error: str, retryable: bool) -> bool:
        """Count a failed attempt; returns True when the item became a dead letter."""
        attempts = item.attempts + 1
        dead = not retryable or attempts >= self.settings.max_attempts
        delay = min(self.settings.retry_initial_seconds * 2 ** (attempts - 1), self.settings.retry_max_seconds)
        now = datetime.now(UTC)
        with self.workspace.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(and_(OUTBOX.c.id == item.id, OUTBOX.c.updated_at == item.updated_at))
                         .values(status="dead" if dead else "pending", attempts=attempts, last_error=error[:2000],
                                 next_attempt_at=now + timedelta(seconds=delay), updated_at=now))
        return dead

    def _hold(self, item: DueItem, reason: str) -> None:
        """The target cannot hold the record as it stands: keep the item aside with the reason (`crmsync status`)
        until the record changes again (enqueue makes it pending then). Not a failure: no attempt is counted."""
        now = datetime.now(UTC)
        with self.workspace.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(and_(OUTBOX.c.id == item.id, OUTBOX.c.updated_at == item.updated_at))
                         .values(status="held", last_error=reason[:2000], updated_at=now))

    def _finish(self, items: Sequence[DueItem]) -> None:
        """Remove items, unless their record changed again after we read it (then they stay due)."""
        if not items:
            return
        with self.workspace.engine.begin() as conn:
            _delete_unchanged(conn, items)

    def _store_pushed(self, target: str, entity: str, done: list[tuple[Prepared, WriteResult]]) -> None:
        if not done:
            return
        now = datetime.now(UTC)
        created: list[str] = []
        with self.workspace.engine.begin() as conn:
            for entry, result in done:
                external_id = result.external_id or entry.write.external_id
                if external_id is None:
                    continue
                if entry.write.delete:  # the target no longer holds it
                    conn.execute(update(REF).where(and_(REF.c.system == target, REF.c.object == entry.object,
                                                        REF.c.external_id == external_id)).values(deleted_at=now))
                    continue
                where = and_(REF.c.system == target, REF.c.object == entry.object, REF.c.external_id == external_id)
                held = conn.execute(select(REF.c.seen_values).where(where)).first()
                # The target now holds what we pushed over what it held (all of it, for a record it lacked).
                seen = {**(held.seen_values or {}), **entry.pushed_values} if held else dict(entry.pushed_values)
                values = {"pushed_hash": entry.pushed_hash, "pushed_at": now, "deleted_at": None,
                          "seen_values": seen}
                if held:
                    conn.execute(update(REF).where(where).values(**values))
                else:
                    conn.execute(REF.insert().values(system=target, object=entry.object, external_id=external_id,
                                                     entity=entity, canonical_id=entry.item.canonical_id, **values))
                    created.append(entry.item.canonical_id)
            _delete_unchanged(conn, [entry.item for entry, _ in done])
            _release_dependents(conn, target, entity, created, now)


def _release_dependents(conn: Connection, target: str, entity: str, created: Sequence[str], now: datetime) -> None:
    """Items held because a record they refer to was not in the target yet (a call's person, a contact's company)
    are due again once it is there."""
    for part in chunks(sorted(created)):
        for other_entity, column in LINKS.get(entity, []):
            table = entity_table(other_entity)
            dependents = select(table.c.id).where(table.c[column].in_(part))
            conn.execute(update(OUTBOX).where(and_(
                OUTBOX.c.target == target, OUTBOX.c.entity == other_entity, OUTBOX.c.status == "held",
                OUTBOX.c.canonical_id.in_(dependents))).values(status="pending", next_attempt_at=now, updated_at=now))


def _delete_unchanged(conn: Connection, items: Sequence[DueItem]) -> None:
    for item in items:
        conn.execute(delete(OUTBOX).where(and_(OUTBOX.c.id == item.id, OUTBOX.c.updated_at == item.updated_at)))


def _target_refs(conn: Connection, target: str, entity: str, ids: Sequence[str]
                 ) -> tuple[dict[str, list[tuple[str, str]]], set[str]]:
    """canonical id → (object, external id) of the record the target holds per object, and the ids of records
    deleted there."""
    found: dict[str, list[tuple[str, str]]] = {}
    deleted: set[str] = set()
    for part in chunks(sorted(set(ids))):
        query = select(REF.c.canonical_id, REF.c.object, REF.c.external_id, REF.c.deleted_at).where(and_(
            REF.c.system == target, REF.c.entity == entity, REF.c.canonical_id.in_(part))).order_by(REF.c.id)
        for row in conn.execute(query):
            if row.deleted_at is not None:
                deleted.add(row.canonical_id)
            elif all(obj != row.object for obj, _ in found.get(row.canonical_id, ())):
                # One record per object: a system holding two of one person (merged elsewhere) is written to
                # on the one crmsync linked first; the other is its users' to merge (both cannot carry one
                # canonical id where it must be unique).
                found.setdefault(row.canonical_id, []).append((row.object, row.external_id))
    return found, deleted


def _ref_resolver(conn: Connection, target: str) -> Callable[[str, str], str | None]:
    def resolve(object_name: str, canonical_id: str) -> str | None:
        return conn.execute(select(REF.c.external_id).where(and_(
            REF.c.system == target, REF.c.object == object_name, REF.c.canonical_id == canonical_id,
            REF.c.deleted_at.is_(None)))).scalar()

    return resolve


def _as_read_back(mapper: Any, system: str, target: str, object_name: str,
                  payload: Mapping[str, Any]) -> CanonicalPatch | None:
    """What reading `payload` back from the target will say: its echo hash, the canonical values it holds."""
    try:
        return mapper.to_patch(SourceRecord(system, object_name, "pushed", datetime.now(UTC), payload,  # type: ignore[no-any-return]
                                            connection=target))
    except MappingError:
        return None
