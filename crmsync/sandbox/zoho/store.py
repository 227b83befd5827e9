"""The records of one emulated org: per-module tables, the recycle bin, and change events.

Records are plain dicts keyed by API name with stored values (datetimes as aware UTC, lookups as ids);
`render` turns them into Zoho's JSON in the org's time zone. Every write stamps Modified_Time with the sandbox
clock (whole seconds, as Zoho keeps them) and announces a `ChangeEvent` for notification channels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.zoho.datacentres import DataCentre
from crmsync.sandbox.zoho.modules import SE_MODULE, ModuleDef, build_modules
from crmsync.sandbox.zoho.validation import RowError, check_mandatory, coerce_row, comparable
from crmsync.sandbox.zoho.values import format_datetime, make_record_id, truncate_to_seconds

Record = dict[str, Any]


@dataclass(frozen=True)
class OrgUser:
    id: str
    name: str
    email: str

    def lookup(self) -> dict[str, str]:
        return {"name": self.name, "id": self.id, "email": self.email}


@dataclass(frozen=True)
class ChangeEvent:
    module: str
    operation: str  # insert | update | delete
    record_id: str
    affected_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeletedRecord:
    id: str
    module: str
    display_name: str
    deleted_time: datetime
    created_by: str
    deleted_by: str
    type: str = "recycle"


class UnknownModuleError(KeyError):
    """A module name the org does not have (INVALID_MODULE)."""


def record_not_found(index: int) -> RowError:
    return RowError("INVALID_DATA", "the related id given seems to be invalid",
                    {"api_name": "id", "json_path": f"$.data[{index}].id"})


class RecordStore:
    def __init__(self, clock: SandboxClock, dc: DataCentre, user: OrgUser) -> None:
        self.clock, self.dc, self.user = clock, dc, user
        self.lock = threading.RLock()
        self.change_listeners: list[Callable[[ChangeEvent], None]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.modules = build_modules()
            self.tables: dict[str, dict[str, Record]] = {name: {} for name in self.modules}
            self.deleted: list[DeletedRecord] = []
            self._sequence = 411000
            self.version = 0  # bumps on every write; page tokens and caches compare it

    # -- schema and lookups ---------------------------------------------------------------------------
    def module(self, name: str) -> ModuleDef:
        for api_name, definition in self.modules.items():
            if api_name.lower() == name.lower():
                return definition
        raise UnknownModuleError(name)

    def exists(self, module: str, record_id: str) -> bool:
        if module == "users":
            return record_id == self.user.id
        return record_id in self.tables.get(module, {})

    def get(self, module: str, record_id: str) -> Record | None:
        return self.tables[module].get(record_id)

    def rows(self, module: str) -> Iterable[Record]:
        return self.tables[module].values()

    # -- rendering ------------------------------------------------------------------------------------
    def render_value(self, module: ModuleDef, name: str, value: Any, lookup_module: str | None = None) -> Any:
        if value is None:
            return None
        definition = module.field(name)
        kind = definition.data_type if definition else "text"
        if kind == "ownerlookup":
            return self.user.lookup()
        if kind == "lookup":
            assert definition is not None
            target_name = lookup_module or definition.lookup_module
            assert target_name is not None
            target_module = self.modules[target_name]
            target = self.tables[target_module.api_name].get(value)
            display = target.get(target_module.display_field) if target else None
            return {"name": display, "id": value}
        if isinstance(value, datetime):
            return format_datetime(value, self.dc.tz)
        if isinstance(value, date):
            return value.isoformat()
        return value

    def render(self, module: ModuleDef, record: Mapping[str, Any], fields: Iterable[str] | None = None) -> Record:
        names = list(module.fields) if fields is None else ["id", *(f for f in fields if f != "id")]
        body: Record = {}
        for name in names:
            definition = module.fields.get(name)
            if definition is None:
                continue
            if definition.lookup_modules:
                # Zoho returns the module of a multi-module lookup with it, as `$se_module`.
                related = record.get(SE_MODULE)
                body[name] = self.render_value(module, name, record.get(name), related)
                body[SE_MODULE] = related
            else:
                body[name] = self.render_value(module, name, record.get(name))
        return body

    # -- writes ---------------------------------------------------------------------------------------
    def _next_id(self) -> str:
        self._sequence += 1
        return make_record_id(self.dc.id_prefix, self._sequence)

    def _emit(self, event: ChangeEvent) -> None:
        self.version += 1
        for listener in self.change_listeners:
            listener(event)

    def now(self) -> datetime:
        return truncate_to_seconds(self.clock.now())

    def _unique_clash(self, module: ModuleDef, record: Record, index: int) -> None:
        for definition in module.fields.values():
            value = record.get(definition.api_name)
            if not definition.unique or value in (None, ""):
                continue
            key = comparable(value)
            for other in self.tables[module.api_name].values():
                if other["id"] != record["id"] and comparable(other.get(definition.api_name)) == key:
                    raise RowError("DUPLICATE_DATA", "duplicate data", {
                        "api_name": definition.api_name, "json_path": f"$.data[{index}].{definition.api_name}",
                        "duplicate_record": {"module": {"api_name": module.api_name, "id": module.module_id},
                                             "id": other["id"], "Owner": self.user.lookup()},
                    })

    def create(self, module: ModuleDef, payload: Mapping[str, Any], index: int = 0) -> Record:
        with self.lock:
            values = coerce_row(module, payload, index, self.exists)
            now = self.now()
            record: Record = {"Owner": self.user.id, **values, "id": self._next_id(), "Created_Time": now,
                              "Modified_Time": now, "Created_By": self.user.id, "Modified_By": self.user.id}
            check_mandatory(module, record, index)
            self._unique_clash(module, record, index)
            self.tables[module.api_name][record["id"]] = record
            self._emit(ChangeEvent(module.api_name, "insert", record["id"], tuple(values)))
            return record

    def update(self, module: ModuleDef, record_id: str, payload: Mapping[str, Any], index: int = 0) -> Record:
        with self.lock:
            current = self.tables[module.api_name].get(str(record_id))
            if current is None:
                raise record_not_found(index)
            values = coerce_row(module, payload, index, self.exists)
            record = {**current, **values, "Modified_Time": self.now(), "Modified_By": self.user.id}
            check_mandatory(module, record, index)
            self._unique_clash(module, record, index)
            self.tables[module.api_name][record["id"]] = record
            changed = tuple(name for name, value in values.items() if current.get(name) != value)
            self._emit(ChangeEvent(module.api_name, "update", record["id"], changed))
            return record

    def delete(self, module: ModuleDef, record_id: str) -> DeletedRecord | None:
        with self.lock:
            record = self.tables[module.api_name].pop(str(record_id), None)
            if record is None:
                return None
            display = record.get(module.display_field)
            gone = DeletedRecord(record["id"], module.api_name, str(display or ""), self.now(),
                                 record["Created_By"], self.user.id)
            self.deleted.append(gone)
            self._emit(ChangeEvent(module.api_name, "delete", record["id"]))
            return gone

    def purge(self, module: ModuleDef, record_id: str) -> bool:
        """Gone for good, live or in the recycle bin, with no deleted-records entry left (as a record emptied
        from the bin past its retention): only the live-id listing can tell. No notification."""
        with self.lock:
            live = self.tables[module.api_name].pop(str(record_id), None)
            binned = [gone for gone in self.deleted if gone.module == module.api_name and gone.id == str(record_id)]
            self.deleted = [gone for gone in self.deleted if gone not in binned]
            self.version += 1
            return live is not None or bool(binned)

    def insert_seeded(self, module: ModuleDef, rows: Iterable[Mapping[str, Any]]) -> int:
        """Fast path for seeding: trusted stored values, no validation, no notifications."""
        count = 0
        with self.lock:
            now = self.now()
            table = self.tables[module.api_name]
            for values in rows:
                record: Record = {"Owner": self.user.id, **values, "id": self._next_id(), "Created_Time": now,
                                  "Modified_Time": now, "Created_By": self.user.id, "Modified_By": self.user.id}
                table[record["id"]] = record
                count += 1
            self.version += 1
        return count

    def render_deleted(self, gone: DeletedRecord) -> dict[str, Any]:
        return {"deleted_by": {"name": self.user.name, "id": gone.deleted_by}, "id": gone.id,
                "display_name": gone.display_name, "type": gone.type,
                "created_by": {"name": self.user.name, "id": gone.created_by},
                "deleted_time": format_datetime(gone.deleted_time, self.dc.tz)}
