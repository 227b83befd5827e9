"""The Five9 connector: calls in real time from web connectors, and backfilled from the Call Log report.

    connector = Five9Connector(Five9Settings(username=..., password=..., web_connector_secret=...), name="five9")
    for page in connector.read("calls", checkpoint, since=..., until=...):   # report windows under the row cap
        ...
    records = connector.web_connector_records("POST", request.query, request.form)   # one call (+ its caller)

Both paths give the same `calls` record for the same call (external id = the Five9 call id), so a call
delivered by both is one Activity. With `link_callers` (default on) each call is preceded by a phone-only
`contacts` record for the person on the call (ANI inbound, DNIS outbound): identity matches it to the lead with
that phone, and the call's `lead_id` ref points to it. A number no lead has makes no lead (the mapping's
`contacts` are link-only): such a call is kept, and CRMs that log calls only on a person do not get it. Five9 is
read-only here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crmsync.connectors.base import Capability, ConnectorError, StreamPage, WriteItem, WriteResult
from crmsync.connectors.five9.calls import CALLS, lead_phone, with_people
from crmsync.connectors.five9.reports import CallLogReports, ReportTooLarge
from crmsync.connectors.five9.settings import Five9Settings
from crmsync.connectors.five9.streams import CallsCursor, CallsReader
from crmsync.connectors.five9.web_connector import WebConnectorRejected, parse_web_connector
from crmsync.sync_engine.records import SourceRecord

__all__ = ["Five9Connector", "Five9Settings", "ReportTooLarge", "WebConnectorRejected", "lead_phone",
           "parse_web_connector"]

STREAMS = (CALLS,)


class Five9Connector:
    system = "five9"
    capabilities = frozenset({Capability.INCREMENTAL, Capability.BACKFILL, Capability.WEBHOOKS})

    def __init__(self, settings: Five9Settings, *, name: str = "five9") -> None:
        self.name, self.settings = name, settings
        self.reports = CallLogReports(settings, name)
        self._reader = CallsReader(self.reports, settings)

    def streams(self) -> Sequence[str]:
        return STREAMS

    def read(self, stream: str, cursor: Mapping[str, Any] | None, *, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[StreamPage]:
        """Calls that started in [since, until) — or from the cursor to now minus `settle_seconds` — oldest
        first, each page's cursor resuming right after it."""
        if stream not in STREAMS:
            raise ConnectorError(f"five9 {self.name} has no stream {stream!r}; streams: {', '.join(STREAMS)}")
        if any(moment is not None and moment.tzinfo is None for moment in (since, until)):
            raise ConnectorError(f"five9 {self.name}: since/until must be timezone-aware (UTC) datetimes")
        position = CallsCursor.from_cursor(cursor)
        start, end = self._reader.span(position, since, until, datetime.now(UTC))
        if start >= end:
            yield StreamPage(CALLS, [], CallsCursor(max(start, end)).as_cursor())
            return
        yield from self._reader.pages(position, start, end)

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        raise ConnectorError(f"five9 {self.name}: write-back is not supported (Five9 is a call source only)")

    def web_connector_record(self, method: str, query: Mapping[str, Any], form: Mapping[str, Any]) -> SourceRecord:
        """The `calls` record of one web-connector request; WebConnectorRejected when it is not authentic."""
        secret = self.settings.web_connector_secret
        return parse_web_connector(method, query, form, secret.get_secret_value() if secret else "",
                                   self.settings.secret_param, time_zone=self.settings.time_zone,
                                   region=self.settings.default_region, connection=self.name,
                                   bare_duration_unit=self.settings.bare_duration_unit)

    def web_connector_records(self, method: str, query: Mapping[str, Any],
                              form: Mapping[str, Any]) -> list[SourceRecord]:
        """What to ingest for one request: the caller's `contacts` record (when configured), then the call."""
        call = self.web_connector_record(method, query, form)
        return with_people([call], self.settings.default_region, self.settings.link_callers)

    def lead_phone(self, record: SourceRecord) -> str | None:
        """The E.164 number identifying the person on a call (ANI inbound, DNIS outbound)."""
        return lead_phone(record, self.settings.default_region)

    def close(self) -> None:
        self.reports.close()
