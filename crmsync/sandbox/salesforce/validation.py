"""Turning client-sent field values into stored values, with Salesforce's error codes and messages."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from crmsync.sandbox.salesforce.schema import OBJECT_LABELS, USER_PREFIX, FieldDef, SObjectDef
from crmsync.sandbox.salesforce.values import normalize_id, parse_datetime

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
READONLY_MESSAGE = (
    "Unable to create/update fields: {names}. Please check the security settings of this field and verify "
    "that it is read/write for your profile or permission set."
)


class RecordError(Exception):
    """A record-level failure. `http_status` is what the single-record REST call answers."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, http_status: int = 400,
                 details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or []
        self.http_status = http_status
        self.details = details or {}  # extra keys of the error item (DUPLICATES_DETECTED's duplicateResult)

    def rest_body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields, **self.details}]

    def collection_item(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields, **self.details}


def _type_error(field: FieldDef, value: Any) -> RecordError:
    kind = type(value).__name__.replace("str", "VALUE_STRING").replace("bool", "VALUE_TRUE")
    return RecordError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {field.type} from {kind} value {value!r} "
        "or request may be missing a required field",
        [field.name],
    )


def coerce_value(sobject: SObjectDef, field: FieldDef, value: Any) -> Any:
    """Validate one value for `field` and return what is stored; raises RecordError."""
    if value is None or (value == "" and field.is_text):
        return False if field.type == "boolean" else None  # Salesforce stores "" as null
    if field.type == "boolean":
        if not isinstance(value, bool):
            raise _type_error(field, value)
        return value
    if field.type in ("int", "double", "currency", "percent"):
        if isinstance(value, bool):
            raise _type_error(field, value)
        try:
            number = float(value) if field.type != "int" else int(value)
        except (TypeError, ValueError):
            raise _type_error(field, value) from None
        return number
    if field.type == "datetime":
        try:
            return parse_datetime(str(value))
        except ValueError:
            raise _type_error(field, value) from None
    if field.type == "date":
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise _type_error(field, value) from None
    if isinstance(value, dict | list):
        raise _type_error(field, value)
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if field.type == "reference":
        return _coerce_reference(sobject, field, text)
    if field.length and len(text) > field.length:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {text[:40]} (max length={field.length})",
            [field.name],
        )
    if field.type == "email" and not _EMAIL.match(text):
        raise RecordError("INVALID_EMAIL_ADDRESS", f"{field.label}: invalid email address: {text}", [field.name])
    return text


def _coerce_reference(sobject: SObjectDef, field: FieldDef, text: str) -> str:
    record_id = normalize_id(text)
    prefixes = {OBJECT_LABELS[name][2] if name in OBJECT_LABELS else USER_PREFIX for name in field.reference_to}
    if record_id is None or record_id[:3] not in prefixes:
        raise RecordError(
            "FIELD_INTEGRITY_EXCEPTION", f"{field.label}: id value of incorrect type: {text}", [field.name]
        )
    return record_id


def coerce_fields(sobject: SObjectDef, payload: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Map a request body to canonical field names and stored values; raises the first RecordError."""
    stored: dict[str, Any] = {}
    readonly: list[str] = []
    for name, value in payload.items():
        if name == "attributes":
            continue
        field = sobject.field(name)
        if field is None:
            raise RecordError(
                "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject.name}", [name]
            )
        if not (field.createable if creating else field.updateable):
            readonly.append(field.name)
            continue
        stored[field.name] = coerce_value(sobject, field, value)
    if readonly:
        raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE", READONLY_MESSAGE.format(names=", ".join(readonly)),
                          readonly)
    return stored


def check_required(sobject: SObjectDef, record: dict[str, Any]) -> None:
    missing = [f.name for f in sobject.fields.values() if f.required and record.get(f.name) is None]
    if missing:
        raise RecordError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)


def external_key(value: Any) -> str:
    """External-id matching is case-insensitive for text values."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).casefold()
