"""Salesforce Ids and the wire formats of field values (datetimes, dates, numbers)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_SHAPE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Z0-5]{3})?$")
POD = "8d0"  # instance + reserved characters of every emulated Id


def id_checksum(id15: str) -> str:
    """The 3-character case-safe suffix that turns a 15-char Id into the 18-char form."""
    suffix = []
    for chunk in range(3):
        bits = 0
        for offset, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix.append(_CHECKSUM_ALPHABET[bits])
    return "".join(suffix)


def make_id(key_prefix: str, sequence: int) -> str:
    """18-char Id: key prefix, pod, 9 base-62 digits, checksum."""
    digits = []
    while sequence:
        sequence, remainder = divmod(sequence, 62)
        digits.append(_BASE62[remainder])
    id15 = f"{key_prefix}{POD}{''.join(reversed(digits)).rjust(9, '0')}"
    return id15 + id_checksum(id15)


def normalize_id(value: str) -> str | None:
    """Accept a 15- or 18-char Id and return the 18-char form, or None when it is not Id-shaped."""
    if not _ID_SHAPE.match(value):
        return None
    if len(value) == 15:
        return value + id_checksum(value)
    return value if id_checksum(value[:15]) == value[15:] else None


def format_datetime(moment: datetime) -> str:
    """REST format: `2024-01-01T12:34:56.000+0000`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def format_datetime_z(moment: datetime) -> str:
    """Bulk CSV and SOAP format: `2024-01-01T12:34:56.000Z`."""
    return format_datetime(moment)[:-5] + "Z"


def truncate_to_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_datetime(text: str) -> datetime:
    """ISO-8601 input as clients send it (`Z`, `+00:00`, `+0000`, with or without millis); naive = UTC."""
    cleaned = text.strip().replace(" ", "+") if "T" in text else text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    match = re.search(r"([+-]\d{2})(\d{2})$", cleaned)
    if match and not re.search(r"[+-]\d{2}:\d{2}$", cleaned):
        cleaned = cleaned[: match.start()] + f"{match.group(1)}:{match.group(2)}"
    moment = datetime.fromisoformat(cleaned)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_json_value(value: Any) -> Any:
    """A stored field value as the REST API serialises it."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_text_value(value: Any) -> str:
    """A stored field value as Bulk CSV and SOAP render it (null handled by the caller)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)
