"""Five9 web-connector requests → a `calls` SourceRecord. Pure: no I/O, so any HTTP framework can call it.

Five9 does not sign these requests; the admin adds a constant parameter holding a shared secret, which is
checked in constant time before any value is used, and never repeated in an error. GET carries parameters in
the query string, POST in the form (a POST URL may carry some in its query too: both are read, form first).
Parameter names are the lower-case dotted call-variable names (`call.ani` ...), matched case-insensitively.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from crmsync.connectors.base import ConnectorError
from crmsync.connectors.five9.calls import call_record, parse_or_keep
from crmsync.connectors.five9.values import parse_duration, parse_timestamp, whole_seconds
from crmsync.sync_engine.records import SourceRecord

DEFAULT_SECRET_PARAM = "crmsync_token"
# Variables the payload carries under its own keys.
VARIABLE_KEYS = {
    "call.call_id": "call_id", "call.session_id": "session_id", "call.ani": "ani", "call.dnis": "dnis",
    "call.type_name": "call_type", "call.campaign_name": "campaign", "call.disposition_name": "disposition",
    "call.start_timestamp": "started_at", "call.length": "duration_s", "agent.user_name": "agent",
    "agent.full_name": "agent_name", "call.comments": "notes",
}
# Known Five9 variables the mapping does not use (contract sheet §6.1): kept in `details`, not custom fields.
KNOWN_UNMAPPED = frozenset({
    "call.number", "call.campaign_id", "call.type", "call.skill_id", "call.skill_name", "call.disposition_id",
    "call.end_timestamp", "call.handle_time", "call.hold_time", "call.park_time", "call.queue_time",
    "call.wrapup_time", "call.bill_time", "call.mediatype", "call.tcpa_date_of_consent", "agent.id",
    "agent.first_agent", "agent.station_id", "agent.station_type",
})


class WebConnectorRejected(ConnectorError):
    """Not an authentic web-connector call for this connection (missing or wrong secret, no call id): answer 403."""


def _single(value: str | Sequence[str]) -> str:
    if isinstance(value, str):
        return value
    return str(value[-1]) if value else ""


def _parameters(method: str, query: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, str]:
    verb = method.upper()
    if verb not in ("GET", "POST"):
        raise WebConnectorRejected(f"five9 web connector: method {method} is not GET or POST")
    merged = {str(key): _single(value) for key, value in query.items()}
    if verb == "POST":
        merged.update({str(key): _single(value) for key, value in form.items()})
    return merged


def authenticate(parameters: Mapping[str, str], expected_secret: str, secret_param: str) -> None:
    """Constant-time check of the shared-secret parameter; the message never contains either value."""
    if not expected_secret:
        raise WebConnectorRejected("five9 web connector: no web_connector_secret is configured for this "
                                   "connection; set it and add it as a constant parameter in Five9")
    given = parameters.get(secret_param, "")
    if not hmac.compare_digest(given.encode(), expected_secret.encode()):
        missing = "is missing" if not given else "does not match"
        raise WebConnectorRejected(f"five9 web connector: the secret parameter {secret_param!r} {missing}; "
                                   "check the connector's constants in the Five9 admin")


def parse_web_connector(method: str, query: Mapping[str, Any], form: Mapping[str, Any], expected_secret: str,
                        secret_param: str = DEFAULT_SECRET_PARAM, *, time_zone: str = "America/Los_Angeles",
                        region: str | None = "US", connection: str = "five9", bare_duration_unit: str = "ms",
                        received_at: datetime | None = None) -> SourceRecord:
    """Authenticate and normalize one web-connector request into a `calls` SourceRecord.

    Timestamps may be wall-clock text in `time_zone` or epoch (milli)seconds; durations `HH:MM:SS` or bare
    numbers in `bare_duration_unit`. Unknown parameters (call-attached or customer variables, other
    constants) land in `extras`, which the mapping copies into custom fields."""
    parameters = _parameters(method, query, form)
    authenticate(parameters, expected_secret, secret_param)
    tz = ZoneInfo(time_zone)
    values: dict[str, Any] = {}
    extras: dict[str, str] = {}
    details: dict[str, str] = {}
    for name, raw in parameters.items():
        key = name.strip().lower()
        if name == secret_param:
            continue
        if key in VARIABLE_KEYS:
            values[VARIABLE_KEYS[key]] = raw.strip()
        elif key in KNOWN_UNMAPPED:
            details[key] = raw
        else:
            extras[name] = raw
    if not values.get("call_id"):
        raise WebConnectorRejected("five9 web connector: no call.call_id parameter; add @Call.call_id@ to the "
                                   "connector's variables (it is the dedupe key)")
    if values.get("started_at"):
        values["started_at"] = parse_or_keep(lambda text: whole_seconds(parse_timestamp(text, tz)),
                                             values["started_at"])
    if values.get("duration_s"):
        values["duration_s"] = parse_or_keep(lambda text: parse_duration(text, bare_duration_unit),
                                             values["duration_s"])
    return call_record(values, extras, details, connection=connection, region=region,
                       received_at=received_at or datetime.now(UTC))
