"""Per-row checks of insert/update/upsert payloads, failing the way Zoho fails one row of a batch.

A bad row becomes a `RowError` (code, message, details with `api_name` and `json_path`) in the response's
`data[]` array; its neighbours still succeed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from crmsync.sandbox.zoho.modules import SE_MODULE, FieldDef, ModuleDef
from crmsync.sandbox.zoho.values import parse_date, parse_datetime

TEXT_TYPES = frozenset({"text", "textarea", "email", "phone", "website", "picklist"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RowError(Exception):
    """One row failed; `details` always names the field when one is to blame."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}

    def envelope(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


def _invalid(definition: FieldDef, path: str, expected: str, **extra: Any) -> RowError:
    details = {"expected_data_type": expected, "api_name": definition.api_name, "json_path": path, **extra}
    return RowError("INVALID_DATA", "invalid data", details)


def coerce_value(definition: FieldDef, value: Any, path: str, exists: Callable[[str, str], bool],
                 module_of_lookup: str | None = None) -> Any:
    """A JSON value for one field → the stored value; RowError names the field and the expected type."""
    if value is None:
        return None
    kind = definition.data_type
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            raise _invalid(definition, path, kind)
        if len(value) > definition.length:
            raise _invalid(definition, path, kind, maximum_length=definition.length)
        if kind == "email" and value and not _EMAIL.match(value):
            raise _invalid(definition, path, "email")
        return value
    if kind in ("lookup", "ownerlookup"):
        target = value.get("id") if isinstance(value, Mapping) else value
        module = module_of_lookup or definition.lookup_module or "users"
        if not isinstance(target, str | int) or not exists(module, str(target)):
            raise _invalid(definition, path, "jsonobject")
        return str(target)
    if kind == "datetime":
        try:
            return parse_datetime(str(value)).replace(microsecond=0)
        except ValueError:
            raise _invalid(definition, path, "datetime") from None
    if kind == "date":
        try:
            return parse_date(str(value))
        except ValueError:
            raise _invalid(definition, path, "date") from None
    if kind in ("currency", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _invalid(definition, path, "double")
        return float(value)
    if kind in ("integer", "bigint"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(definition, path, "integer")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _invalid(definition, path, "boolean")
        return value
    raise _invalid(definition, path, kind)  # pragma: no cover - every DataType is handled above


def coerce_row(module: ModuleDef, payload: Mapping[str, Any], index: int,
               exists: Callable[[str, str], bool]) -> dict[str, Any]:
    """Writable fields of one row. Unknown and read-only names are ignored, as Zoho does."""
    values: dict[str, Any] = {}
    for name, value in payload.items():
        definition = module.field(name)
        if definition is None or definition.read_only or name == "id":
            continue
        if definition.lookup_modules:
            values.update(_related(definition, value, payload.get(SE_MODULE), index, exists))
            continue
        values[name] = coerce_value(definition, value, f"$.data[{index}].{name}", exists)
    return values


def _related(definition: FieldDef, value: Any, module: Any, index: int,
             exists: Callable[[str, str], bool]) -> dict[str, Any]:
    """A multi-module lookup and the `$se_module` naming its module, stored side by side (both None to clear)."""
    if value is None:
        return {definition.api_name: None, SE_MODULE: None}
    if module not in definition.lookup_modules:
        raise RowError("INVALID_DATA", "invalid data", {
            "api_name": SE_MODULE, "json_path": f"$.data[{index}].{SE_MODULE}",
            "expected_value": list(definition.lookup_modules)})
    path = f"$.data[{index}].{definition.api_name}"
    return {definition.api_name: coerce_value(definition, value, path, exists, module), SE_MODULE: module}


def check_mandatory(module: ModuleDef, record: Mapping[str, Any], index: int) -> None:
    for definition in module.fields.values():
        if definition.mandatory and record.get(definition.api_name) in (None, ""):
            raise RowError("MANDATORY_NOT_FOUND", "required field not found",
                           {"api_name": definition.api_name, "json_path": f"$.data[{index}].{definition.api_name}"})


def comparable(value: Any) -> Any:
    """The key duplicate checks compare (case-insensitive text, as Zoho's duplicate check is)."""
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, datetime):
        return value.isoformat()
    return value
