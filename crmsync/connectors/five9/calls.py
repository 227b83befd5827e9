"""One call as a SourceRecord, whichever path told us about it (web connector or Call Log report).

Both paths normalize to the same flat payload, so the same call maps to the same canonical values and the
Five9 call id dedupes it: `call_id`, `call_type`, `ani`, `dnis`, `started_at` (ISO UTC, whole seconds),
`duration_s` (whole seconds of call time), `disposition`, `campaign`, `agent`, `agent_name`, `recording_url`,
`notes`, `person_phone` (the E.164 number that identifies the person, see `lead_phone`), `extras` (variables
or columns this connector does not know: the mapping copies them into custom fields) and `details` (known
values the mapping does not use, kept for troubleshooting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from crmsync.errors import RecordMappingError
from crmsync.mappings.transforms import to_e164
from crmsync.sync_engine.records import SourceRecord

CALLS, CONTACTS = "calls", "contacts"
# Five9 call types by the side that placed the call; Manual, Preview and Autodial are agent/dialer outbound.
INBOUND_TYPES = frozenset({"inbound"})
OUTBOUND_TYPES = frozenset({"outbound", "manual", "autodial", "preview", "agent"})


def call_direction(call_type: Any) -> str | None:
    kind = str(call_type or "").strip().lower()
    return "inbound" if kind in INBOUND_TYPES else "outbound" if kind in OUTBOUND_TYPES else None


def extra_name(name: str) -> str:
    """`Customer.first_name` → `customer_first_name`: custom-field keys without dots (paths split on dots)."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _person_number(payload: Mapping[str, Any], region: str | None) -> str | None:
    direction = call_direction(payload.get("call_type"))
    number = payload.get("ani") if direction == "inbound" else payload.get("dnis") if direction else None
    return to_e164(str(number).strip(), region) if number else None


def lead_phone(record: SourceRecord, region: str | None = "US") -> str | None:
    """The E.164 number of the person on the call: the ANI of an inbound call, the DNIS of an outbound one."""
    if record.object != CALLS:
        return None
    return _person_number(record.payload, region)


def call_record(values: Mapping[str, Any], extras: Mapping[str, str], details: Mapping[str, str], *,
                connection: str, region: str | None, received_at: datetime) -> SourceRecord:
    """A `calls` SourceRecord from parsed values (`started_at` a datetime, `duration_s` an int, else text).

    `modified_at` is the end of the call for both paths, so the same call carries the same source time."""
    payload: dict[str, Any] = {key: value for key, value in values.items() if value not in (None, "")}
    started, duration = payload.get("started_at"), payload.get("duration_s")
    modified_at = received_at
    if isinstance(started, datetime):
        modified_at = started + timedelta(seconds=duration if isinstance(duration, int) else 0)
        payload["started_at"] = started.isoformat().replace("+00:00", "Z")
    payload["extras"] = {extra_name(name): value for name, value in extras.items() if value not in (None, "")}
    payload["details"] = dict(details)
    phone = _person_number(payload, region)
    if phone is not None:
        payload["person_phone"] = phone  # the mapping's ref to the caller's `contacts` record
    return SourceRecord(system="five9", object=CALLS, external_id=str(payload["call_id"]), modified_at=modified_at,
                        payload=payload, connection=connection)


def parse_or_keep(parse: Any, raw: str) -> Any:
    """The parsed value, or the raw text when it does not parse: the mapping then fails that one record
    (kept as a record error) instead of the whole page."""
    try:
        return parse(raw)
    except RecordMappingError:
        return raw


def person_record(call: SourceRecord, region: str | None) -> SourceRecord | None:
    """The caller as a phone-only `contacts` record (external id = the E.164 number), or None without one.

    Ingested with the call, it matches an existing lead by phone (identity rules) or creates one, and the
    call's `person_phone` ref then links the activity to that lead."""
    phone = call.payload.get("person_phone") or lead_phone(call, region)
    if not phone:
        return None
    return SourceRecord(system="five9", object=CONTACTS, external_id=str(phone), modified_at=call.modified_at,
                        payload={"phone": phone}, connection=call.connection)


def with_people(calls: Iterable[SourceRecord], region: str | None, link_callers: bool) -> list[SourceRecord]:
    """Each call preceded by its caller's `contacts` record (once per number) when callers are linked."""
    records: list[SourceRecord] = []
    seen: set[str] = set()
    for call in calls:
        person = person_record(call, region) if link_callers else None
        if person is not None and person.external_id not in seen:
            seen.add(person.external_id)
            records.append(person)
        records.append(call)
    return records
