"""The emulated org's data: records as plain dicts keyed by canonical field name, per sObject.

Soft-deleted rows stay in their table with IsDeleted=true (the recycle bin) so queryAll and getDeleted see
them, until the bin is emptied (`purge`: then they are gone from every read, as after emptyRecycleBin or a Bulk
hardDelete). Every write goes through `_write`, which keeps the external-id index and an undo log, so an
all-or-none composite call can roll back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.salesforce.duplicates import DuplicateRule
from crmsync.sandbox.salesforce.schema import FieldDef, SObjectDef, build_schema
from crmsync.sandbox.salesforce.validation import RecordError, check_required, coerce_fields, external_key
from crmsync.sandbox.salesforce.values import make_id, normalize_id, truncate_to_millis

Record = dict[str, Any]
PERSON_OBJECTS = frozenset({"Lead", "Contact"})


@dataclass(frozen=True)
class ChangeEvent:
    object_name: str
    change_type: str  # CREATE | UPDATE | DELETE
    record_id: str


class UnknownObjectError(KeyError):
    """An sObject name the org does not have (→ INVALID_TYPE / NOT_FOUND)."""


def not_found() -> RecordError:
    return RecordError("NOT_FOUND", "The requested resource does not exist", http_status=404)


class SObjectStore:
    def __init__(self, clock: SandboxClock, user_id: str) -> None:
        self.clock = clock
        self.user_id = user_id
        self.lock = threading.RLock()
        self.change_listeners: list[Callable[[ChangeEvent], None]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.schema = build_schema()
            self.tables: dict[str, dict[str, Record]] = {name: {} for name in self.schema}
            self._by_prefix = {definition.key_prefix: name for name, definition in self.schema.items()}
            self._sequences: dict[str, int] = {}
            self._external: dict[tuple[str, str], dict[str, set[str]]] = {}
            self.deleted_at: dict[str, datetime] = {}
            self.last_purged: datetime | None = None  # deletion time of the latest record purged from the bin
            self.duplicate_rules: list[DuplicateRule] = []  # active rules with the Block action
            self._undo: list[Callable[[], None]] | None = None
            self._pending_events: list[ChangeEvent] = []
            self.created_at = truncate_to_millis(self.clock.now())

    # -- schema ---------------------------------------------------------------------------------------
    def sobject(self, name: str) -> SObjectDef:
        for canonical, definition in self.schema.items():
            if canonical.lower() == name.lower():
                return definition
        raise UnknownObjectError(name)

    def add_custom_field(self, object_name: str, field: FieldDef) -> None:
        with self.lock:
            self.sobject(object_name).add(field)

    def object_of_id(self, record_id: str) -> str | None:
        return self._by_prefix.get(record_id[:3])

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, object_name: str, record_id: str, *, include_deleted: bool = False) -> Record | None:
        canonical = normalize_id(record_id)
        record = self.tables[object_name].get(canonical) if canonical else None
        if record is None or (record["IsDeleted"] and not include_deleted):
            return None
        return record

    def find_any(self, record_id: str) -> Record | None:
        object_name = self.object_of_id(record_id)
        return None if object_name is None else self.get(object_name, record_id)

    def rows(self, object_name: str, *, include_deleted: bool) -> Iterator[Record]:
        rows = self.tables[object_name].values()
        return iter(rows) if include_deleted else (row for row in rows if not row["IsDeleted"])

    def find_by_external(self, object_name: str, field: FieldDef, value: Any) -> list[Record]:
        if field.type == "id":
            record = self.get(object_name, str(value))
            return [] if record is None else [record]
        ids = self._external.get((object_name, field.name), {}).get(external_key(value), set())
        return [self.tables[object_name][record_id] for record_id in sorted(ids)]

    # -- writes ---------------------------------------------------------------------------------------
    def _next_id(self, object_name: str) -> str:
        prefix = self.schema[object_name].key_prefix
        self._sequences[prefix] = self._sequences.get(prefix, 0) + 1
        return make_id(prefix, self._sequences[prefix])

    def _write(self, object_name: str, record_id: str, record: Record | None) -> None:
        table = self.tables[object_name]
        previous = table.get(record_id)
        self._index(object_name, previous, add=False)
        if record is None:
            table.pop(record_id, None)
        else:
            table[record_id] = record
            self._index(object_name, record, add=True)
        if self._undo is not None:
            restore = None if previous is None else dict(previous)
            self._undo.append(lambda: self._write(object_name, record_id, restore))

    def _index(self, object_name: str, record: Record | None, *, add: bool) -> None:
        if record is None or record["IsDeleted"]:
            return
        for field in self.schema[object_name].fields.values():
            value = record.get(field.name)
            if not field.external_id or value is None:
                continue
            bucket = self._external.setdefault((object_name, field.name), {}).setdefault(external_key(value), set())
            if add:
                bucket.add(record["Id"])
            else:
                bucket.discard(record["Id"])

    def _check_unique(self, object_name: str, record: Record) -> None:
        for field in self.schema[object_name].fields.values():
            value = record.get(field.name)
            if not field.unique or value is None:
                continue
            clash = [r for r in self.find_by_external(object_name, field, value) if r["Id"] != record["Id"]]
            if clash:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {field.name} duplicates value on record with id: {clash[0]['Id']}",
                    [field.name],
                )

    def _check_duplicates(self, object_name: str, record: Record) -> None:
        for rule in self.duplicate_rules:
            if rule.object_name == object_name:
                rule.check(record, self.rows(object_name, include_deleted=False))

    def _emit(self, event: ChangeEvent) -> None:
        if self._undo is not None:
            self._pending_events.append(event)
            return
        for listener in self.change_listeners:
            listener(event)

    def _stamp(self, record: Record, now: datetime, object_name: str) -> None:
        record["LastModifiedDate"] = record["SystemModstamp"] = now
        record["LastModifiedById"] = self.user_id
        if object_name in PERSON_OBJECTS:
            record["Name"] = " ".join(part for part in (record.get("FirstName"), record.get("LastName")) if part)

    def _new_record(self, object_name: str, values: Record, now: datetime) -> Record:
        defaults = {f.name: f.default for f in self.schema[object_name].fields.values() if f.default is not None}
        record: Record = {**defaults, "OwnerId": self.user_id, **values}
        record.update(Id=self._next_id(object_name), IsDeleted=False, CreatedDate=now, CreatedById=self.user_id)
        self._stamp(record, now, object_name)
        return record

    def create(self, object_name: str, payload: dict[str, Any]) -> Record:
        sobject = self.sobject(object_name)
        values = coerce_fields(sobject, payload, creating=True)
        with self.lock:
            record = self._new_record(sobject.name, values, truncate_to_millis(self.clock.now()))
            check_required(sobject, record)
            self._check_unique(sobject.name, record)
            self._check_duplicates(sobject.name, record)
            self._write(sobject.name, record["Id"], record)
            self._emit(ChangeEvent(sobject.name, "CREATE", record["Id"]))
            return record

    def _live(self, object_name: str, record_id: str) -> Record:
        """The record an update or delete may touch: 404 NOT_FOUND, or ENTITY_IS_DELETED from the recycle bin."""
        current = self.get(object_name, record_id, include_deleted=True)
        if current is None:
            raise not_found()
        if current["IsDeleted"]:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", http_status=404)
        return current

    def update(self, object_name: str, record_id: str, payload: dict[str, Any]) -> Record:
        sobject = self.sobject(object_name)
        values = coerce_fields(sobject, payload, creating=False)
        with self.lock:
            current = self._live(sobject.name, record_id)
            record = {**current, **values}
            self._stamp(record, truncate_to_millis(self.clock.now()), sobject.name)
            check_required(sobject, record)
            self._check_unique(sobject.name, record)
            self._check_duplicates(sobject.name, record)
            self._write(sobject.name, record["Id"], record)
            self._emit(ChangeEvent(sobject.name, "UPDATE", record["Id"]))
            return record

    def delete(self, object_name: str, record_id: str) -> None:
        sobject = self.sobject(object_name)
        with self.lock:
            current = self._live(sobject.name, record_id)
            now = truncate_to_millis(self.clock.now())
            record = {**current, "IsDeleted": True}
            self._stamp(record, now, sobject.name)
            self._write(sobject.name, record["Id"], record)
            self.deleted_at[record["Id"]] = now
            self._emit(ChangeEvent(sobject.name, "DELETE", record["Id"]))

    def purge(self, record_ids: Iterable[str], object_name: str | None = None) -> list[str]:
        """Remove records for good (live ones are hard-deleted); returns the 18-char ids that were there."""
        purged = []
        with self.lock:
            for record_id in record_ids:
                name = object_name or self.object_of_id(record_id)
                if name is None or name not in self.tables:
                    continue
                record = self.get(name, record_id, include_deleted=True)
                if record is None:
                    continue
                deleted = self.deleted_at.pop(record["Id"], None) or truncate_to_millis(self.clock.now())
                self.last_purged = deleted if self.last_purged is None else max(self.last_purged, deleted)
                self._write(name, record["Id"], None)
                purged.append(record["Id"])
        return purged

    def recycle_bin(self, object_name: str | None = None) -> list[str]:
        """Ids of the soft-deleted records (of one object, or of all)."""
        with self.lock:
            names = [object_name] if object_name else list(self.tables)
            return [row["Id"] for name in names for row in self.rows(name, include_deleted=True) if row["IsDeleted"]]

    def upsert(self, object_name: str, field_name: str, value: str, payload: dict[str, Any]) -> tuple[Record, bool]:
        """Create or update by external id; returns (record, created). Raises a 300 RecordError on several."""
        sobject = self.sobject(object_name)
        field = sobject.field(field_name)
        if field is None or not (field.external_id or field.type == "id"):
            raise RecordError(
                "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}",
                http_status=404,
            )
        with self.lock:
            matches = self.find_by_external(sobject.name, field, value)
            if len(matches) > 1:
                raise RecordError("MULTIPLE_RECORDS", "more than one record found", http_status=300)
            if matches:
                return self.update(sobject.name, matches[0]["Id"], payload), False
            if field.type == "id":
                raise not_found()
            return self.create(sobject.name, {**payload, field.name: value}), True

    def insert_seeded(self, object_name: str, rows: Iterable[Record]) -> int:
        """Fast path for seeding: trusted values, no validation, no change notifications."""
        count = 0
        with self.lock:
            now = truncate_to_millis(self.clock.now())
            for values in rows:
                record = self._new_record(object_name, values, now)
                self._write(object_name, record["Id"], record)
                count += 1
        return count

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-none: any exception rolls back every write made inside the block."""
        with self.lock:
            self._undo, self._pending_events = [], []
            try:
                yield
            except BaseException:
                undo_log, self._undo = self._undo, None
                for undo in reversed(undo_log):
                    undo()
                self._pending_events = []
                raise
            self._undo = None
            events, self._pending_events = self._pending_events, []
        for event in events:
            self._emit(event)
