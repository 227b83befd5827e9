"""The portal's records: per object type, by id, with the indexes search and paging need.

Live records sit in a list sorted by (modified ms, id), so an incremental search is a bisect and a slice,
not a sort of the whole table; ids are handed out in increasing order, so the live-id list used by list
paging stays sorted by appending. Archived records keep their row (the recycle bin) and leave the indexes.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.hubspot.errors import HubSpotApiError, not_found, validation
from crmsync.sandbox.hubspot.schema import OBJECT_TYPES, PropertyDef, build_properties
from crmsync.sandbox.hubspot.values import iso, normalize, to_ms

FIRST_ID = 1001


@dataclass
class HubRecord:
    id: int
    object_type: str
    properties: dict[str, str]
    created_ms: int
    modified_ms: int
    archived: bool = False
    archived_ms: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.modified_ms, self.id)


@dataclass(frozen=True)
class ChangeEvent:
    """What a webhook subscription may hear about: creation, propertyChange, deletion, merge, associationChange."""

    object_type: str
    kind: str
    object_id: int
    changes: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)


class ObjectTable:
    """The records of one object type and their indexes; callers hold the store lock."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: dict[int, HubRecord] = {}
        self.by_modified: list[tuple[int, int]] = []  # live records, sorted
        self.live_ids: list[int] = []  # sorted
        self.archived_ids: list[int] = []  # sorted
        self.unique: dict[str, dict[str, int]] = {}  # property -> lowered value -> id

    def index(self, record: HubRecord, unique_names: Iterable[str]) -> None:
        insort(self.by_modified, record.key)
        for name in unique_names:
            value = record.properties.get(name)
            if value:
                self.unique.setdefault(name, {})[value.lower()] = record.id

    def unindex(self, record: HubRecord, unique_names: Iterable[str]) -> None:
        position = bisect_left(self.by_modified, record.key)
        if position < len(self.by_modified) and self.by_modified[position] == record.key:
            del self.by_modified[position]
        for name in unique_names:
            value = record.properties.get(name)
            if value and self.unique.get(name, {}).get(value.lower()) == record.id:
                del self.unique[name][value.lower()]

    def find_unique(self, name: str, value: str) -> int | None:
        return self.unique.get(name, {}).get(value.lower())


def remove_sorted(items: list[int], value: int) -> None:
    position = bisect_left(items, value)
    if position < len(items) and items[position] == value:
        del items[position]


class PortalStore:
    """Every record of the portal, custom property definitions, merges and associations."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.listeners: list[Callable[[ChangeEvent], None]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.properties: dict[str, dict[str, PropertyDef]] = build_properties()
            self.tables = {name: ObjectTable(name) for name in OBJECT_TYPES}
            self.redirects: dict[tuple[str, int], int] = {}  # merged-away id -> survivor
            self.associations: dict[tuple[str, int], dict[tuple[str, int], set[int]]] = {}
            self._next_id = FIRST_ID

    # -- helpers --------------------------------------------------------------------------------------
    def now_ms(self) -> int:
        return to_ms(self.clock.now())

    def unique_names(self, object_type: str) -> list[str]:
        return [name for name, prop in self.properties[object_type].items() if prop.unique and not prop.archived]

    def emit(self, event: ChangeEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def property(self, object_type: str, name: str) -> PropertyDef | None:
        prop = self.properties[object_type].get(name)
        return None if prop is None or prop.archived else prop

    def _clean(self, object_type: str, values: Mapping[str, Any], *, system: bool = False) -> dict[str, str]:
        """Validated, normalised property values; unknown and read-only properties are refused."""
        clean: dict[str, str] = {}
        for name, value in values.items():
            prop = self.property(object_type, name)
            if prop is None:
                raise validation(f'Property values were not valid: Property "{name}" does not exist',
                                 code="PROPERTY_DOESNT_EXIST", name=name)
            if prop.read_only and not system:
                raise validation(f'Property values were not valid: "{name}" is a read only property; its value '
                                 "cannot be set", code="READ_ONLY_VALUE", name=name)
            clean[name] = normalize(object_type, prop, value) or ""
        return clean

    def _check_unique(self, table: ObjectTable, record_id: int | None, values: Mapping[str, str]) -> None:
        for name in self.unique_names(table.name):
            value = values.get(name)
            holder = table.find_unique(name, value) if value else None
            if holder is not None and holder != record_id:
                singular = OBJECT_TYPES[table.name].singular.capitalize()
                raise HubSpotApiError(409, "CONFLICT", f"{singular} already exists. Existing ID: {holder}",
                                      context={"existingId": [str(holder)], "propertyName": [name]})

    def _stamp(self, object_type: str, record: HubRecord, now: int) -> None:
        record.modified_ms = now
        record.properties[OBJECT_TYPES[object_type].modified_property] = iso(now)

    # -- reads ----------------------------------------------------------------------------------------
    def resolve(self, object_type: str, object_id: int) -> int:
        """The id a merged-away record now lives under (itself when never merged)."""
        seen = 0
        while (object_type, object_id) in self.redirects and seen < 100:
            object_id, seen = self.redirects[(object_type, object_id)], seen + 1
        return object_id

    def get(self, object_type: str, raw_id: str, *, id_property: str | None = None,
            archived: bool = False) -> HubRecord | None:
        table = self.tables[object_type]
        if id_property and id_property != "hs_object_id":
            found = table.find_unique(id_property, raw_id)
            return None if found is None else table.rows.get(found)
        if not raw_id.isdigit():
            return None
        record = table.rows.get(self.resolve(object_type, int(raw_id)))
        if record is None or record.archived != archived:
            return None
        return record

    def live(self, object_type: str, raw_id: str, *, id_property: str | None = None) -> HubRecord:
        record = self.get(object_type, raw_id, id_property=id_property)
        if record is None:
            raise not_found(object_type, raw_id)
        return record

    # -- writes ---------------------------------------------------------------------------------------
    def create(self, object_type: str, values: Mapping[str, Any], *, system: bool = False) -> HubRecord:
        with self.lock:
            table = self.tables[object_type]
            clean = self._clean(object_type, values, system=system)
            missing = [name for name in OBJECT_TYPES[object_type].required if not clean.get(name)]
            if missing:
                raise validation(f"Property values were not valid: {missing[0]} is required to create a "
                                 f"{OBJECT_TYPES[object_type].singular}", code="REQUIRED_PROPERTY", name=missing[0])
            self._check_unique(table, None, clean)
            record = self._insert(object_type, {k: v for k, v in clean.items() if v != ""}, self.now_ms())
            self.emit(ChangeEvent(object_type, "creation", record.id, dict(record.properties)))
            return record

    def _insert(self, object_type: str, values: dict[str, str], now: int) -> HubRecord:
        spec, table = OBJECT_TYPES[object_type], self.tables[object_type]
        record_id, self._next_id = self._next_id, self._next_id + 1
        values |= {spec.created_property: iso(now), "hs_object_id": str(record_id)}
        record = HubRecord(record_id, object_type, values, now, now)
        self._stamp(object_type, record, now)
        table.rows[record_id] = record
        table.live_ids.append(record_id)
        table.index(record, self.unique_names(object_type))
        return record

    def insert_seeded(self, object_type: str, rows: Iterable[dict[str, str]]) -> int:
        """Fast path for seeding: trusted values, no events; all rows share the current timestamp."""
        with self.lock:
            now, count = self.now_ms(), 0
            for values in rows:
                self._insert(object_type, values, now)
                count += 1
            return count

    def update(self, object_type: str, raw_id: str, values: Mapping[str, Any], *, id_property: str | None = None,
               system: bool = False) -> HubRecord:
        with self.lock:
            table = self.tables[object_type]
            record = self.live(object_type, raw_id, id_property=id_property)
            clean = self._clean(object_type, values, system=system)
            self._check_unique(table, record.id, clean)
            changed = {k: v for k, v in clean.items() if record.properties.get(k, "") != v}
            unique = self.unique_names(object_type)
            table.unindex(record, unique)
            for name, value in clean.items():
                if value == "":
                    record.properties.pop(name, None)
                else:
                    record.properties[name] = value
            self._stamp(object_type, record, self.now_ms())
            table.index(record, unique)
            if changed:
                self.emit(ChangeEvent(object_type, "propertyChange", record.id, changed))
            return record

    def archive(self, object_type: str, raw_id: str) -> None:
        with self.lock:
            table = self.tables[object_type]
            record = self.live(object_type, raw_id)
            table.unindex(record, self.unique_names(object_type))
            remove_sorted(table.live_ids, record.id)
            insort(table.archived_ids, record.id)
            record.archived, record.archived_ms = True, self.now_ms()
            self.emit(ChangeEvent(object_type, "deletion", record.id))

    def purge(self, object_type: str, raw_id: str, *, id_property: str | None = None) -> HubRecord | None:
        """Delete permanently, live or archived (a GDPR delete, or an archive past HubSpot's 90 days): the
        record, its unique values and its associations are gone, and no listing shows it again."""
        with self.lock:
            table = self.tables[object_type]
            if id_property and id_property != "hs_object_id":
                found = table.find_unique(id_property, raw_id)
            else:
                found = self.resolve(object_type, int(raw_id)) if raw_id.isdigit() else None
            record = None if found is None else table.rows.pop(found, None)
            if record is None:
                return None
            if record.archived:
                remove_sorted(table.archived_ids, record.id)
            else:
                table.unindex(record, self.unique_names(object_type))
                remove_sorted(table.live_ids, record.id)
            for other in self.associations.pop((object_type, record.id), {}):
                self.associations.get(other, {}).pop((object_type, record.id), None)
            return record

    def upsert(self, object_type: str, id_property: str, value: str, values: Mapping[str, Any]
               ) -> tuple[HubRecord, bool]:
        """Create or update by a unique property; returns (record, created)."""
        prop = self.property(object_type, id_property)
        if prop is None or not (prop.unique or id_property == "hs_object_id"):
            raise validation(f"{id_property} is not a unique-value property of {object_type}; upsert needs one "
                             "(contacts: email, others: a custom property with hasUniqueValue)",
                             code="INVALID_ID_PROPERTY", name=id_property)
        with self.lock:
            existing = self.get(object_type, value, id_property=id_property)
            if existing is not None:
                return self.update(object_type, str(existing.id), values), False
            if id_property == "hs_object_id":
                raise not_found(object_type, value)
            return self.create(object_type, {**values, id_property: value}), True
