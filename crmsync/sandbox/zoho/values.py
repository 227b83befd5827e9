"""Zoho record ids and the wire formats of field values (datetimes carry whole seconds and an offset)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timezone

_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


def make_record_id(id_prefix: int, sequence: int) -> str:
    """19 digits, growing with creation order, like `5725767000000411001`."""
    return f"{id_prefix:07d}{sequence:012d}"


def truncate_to_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def format_datetime(moment: datetime, tz: timezone) -> str:
    """`2024-01-01T10:00:00+05:30`: Zoho renders datetimes in the org's zone with whole seconds."""
    return truncate_to_seconds(moment.astimezone(tz)).isoformat()


def parse_datetime(text: str) -> datetime:
    """ISO-8601 as clients send it (`Z`, `+00:00`, `+0000`, fractions); naive means UTC. ValueError if not."""
    cleaned = text.strip().replace(" ", "+") if "T" in text else text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    match = _OFFSET_WITHOUT_COLON.search(cleaned)
    if match and "T" in cleaned and not re.search(r"[+-]\d{2}:\d{2}$", cleaned):
        cleaned = cleaned[: match.start()] + f"{match.group(1)}:{match.group(2)}"
    moment = datetime.fromisoformat(cleaned)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_date(text: str) -> date:
    return date.fromisoformat(text.strip())
