"""Property values on HubSpot's wire: strings in, strings out; epoch milliseconds or ISO-8601 for datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from crmsync.sandbox.hubspot.errors import HubSpotApiError, validation
from crmsync.sandbox.hubspot.schema import PropertyDef

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso(ms: int) -> str:
    """HubSpot's rendering of a timestamp: `2024-01-01T12:34:56.789Z`."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: Any) -> int | None:
    """Epoch milliseconds (number or digit string) or ISO-8601 → epoch ms; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)


def parse_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def normalize(object_type: str, prop: PropertyDef, value: Any) -> str | None:
    """Validate one written value and return HubSpot's stored string; '' and null clear the property."""
    if value is None or value == "":
        return ""
    if prop.type == "datetime" or prop.type == "date":
        ms = parse_time_ms(value)
        if ms is None:
            raise _invalid(prop, value, "INVALID_DATE", "is not a valid date/time (epoch milliseconds or ISO-8601)")
        return iso(ms)
    if prop.type == "number":
        number = parse_number(value)
        if number is None:
            raise _invalid(prop, value, "INVALID_INTEGER", "is not a number")
        return str(value).strip() if not isinstance(value, float) else repr(number)
    if prop.type == "bool":
        text = str(value).lower()
        if text not in ("true", "false"):
            raise _invalid(prop, value, "INVALID_BOOLEAN", "is not true or false")
        return text
    text = str(value)
    if prop.type == "enumeration" and prop.options:
        allowed = prop.option_values()
        if any(part not in allowed for part in text.split(";")):
            raise _invalid(prop, value, "INVALID_OPTION",
                           f"was not one of the allowed options: [{', '.join(sorted(allowed))}]")
    if object_type == "contacts" and prop.name == "email" and not EMAIL.match(text):
        raise _invalid(prop, value, "INVALID_EMAIL", "is not a valid email address")
    return text


def _invalid(prop: PropertyDef, value: Any, code: str, why: str) -> HubSpotApiError:
    return validation(f"Property values were not valid: {prop.name}={value!r} {why}", code=code, name=prop.name)


def comparable(prop: PropertyDef | None, value: Any) -> Any:
    """A stored or filter value as something `<` understands for this property's type."""
    if value is None or value == "":
        return None
    if prop is not None and prop.type in ("datetime", "date"):
        return parse_time_ms(value)
    if prop is not None and prop.type == "number":
        return parse_number(value)
    return str(value).lower()
