"""The Call Log report through Five9's Configuration Web Services with zeep (runReport → isReportRunning →
getReportResultCsv), and CSV rows → `calls` SourceRecords.

zeep loads the WSDL the service publishes (`/wsadmin/v12/?wsdl&user=...`, HTTP Basic auth) over a requests
session that trusts only the configured CA. Faults are classified by the element in their `detail`, never by
their text: ResultTooLargeFault means "split the window"; InternalFault, 5xx and dropped connections are retried.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
import zeep
import zeep.exceptions

from crmsync.connectors.base import AuthenticationError, ConnectorError, TransientError
from crmsync.connectors.five9.calls import call_record, parse_or_keep
from crmsync.connectors.five9.settings import Five9Settings
from crmsync.connectors.five9.values import Window, parse_duration, parse_timestamp
from crmsync.sync_engine.records import SourceRecord

T = TypeVar("T")
TRANSIENT_FAULTS = frozenset({"InternalFault", "ReportRunningFault"})
COLUMN_KEYS = {"CALL ID": "call_id", "SESSION ID": "session_id", "CAMPAIGN": "campaign", "CALL TYPE": "call_type",
               "AGENT": "agent", "AGENT NAME": "agent_name", "DISPOSITION": "disposition", "ANI": "ani", "DNIS": "dnis",
               "CALL TIME": "duration_s", "RECORDINGS": "recording_url", "COMMENTS": "notes"}
TIME_COLUMNS = frozenset({"TIMESTAMP", "DATE", "TIME"})
KNOWN_UNMAPPED = frozenset({
    "CUSTOMER NAME", "BILL TIME (ROUNDED)", "COST", "IVR TIME", "QUEUE WAIT TIME", "RING TIME", "TALK TIME",
    "HOLD TIME", "PARK TIME", "AFTER CALL WORK TIME", "TRANSFERS", "CONFERENCES", "HOLDS", "ABANDONED", "SKILL",
    "HANDLE TIME", "LIST NAME",
})


class ReportTooLarge(ConnectorError):
    """The report window holds more rows than the report may return: run it over a shorter window."""


def fault_kind(fault: zeep.exceptions.Fault) -> str:
    detail = fault.detail
    if detail is None or len(detail) == 0:
        return ""
    return str(detail[0].tag).rsplit("}", 1)[-1]


class CallLogReports:
    """Runs the Call Log report for one time window and returns its rows as records."""

    def __init__(self, settings: Five9Settings, connection: str) -> None:
        self.settings, self.connection = settings, connection
        self.session = requests.Session()
        self.session.auth = (settings.username, settings.password.get_secret_value())
        if settings.ca_bundle is not None:
            self.session.trust_env = False  # or REQUESTS_CA_BUNDLE would silently override `verify`
            self.session.verify = str(settings.ca_bundle)
        self._client: zeep.Client | None = None

    @property
    def service(self) -> Any:
        if self._client is None:
            transport = zeep.Transport(session=self.session, timeout=self.settings.timeout_seconds,
                                       operation_timeout=self.settings.timeout_seconds)
            # huge_tree: a 50,000-row CSV is one text node larger than lxml's default limit.
            self._client = self._call("loading the WSDL", lambda: zeep.Client(
                self.settings.wsdl_url, transport=transport, settings=zeep.Settings(xml_huge_tree=True)))
        return self._client.service

    def _call(self, what: str, action: Callable[[], T]) -> T:
        """One SOAP call with retries on transient failures; errors say what failed, never a credential."""
        settings, delay = self.settings, self.settings.retry_initial_seconds
        for attempt in range(1, settings.max_attempts + 1):
            try:
                return action()
            except zeep.exceptions.Fault as fault:
                kind = fault_kind(fault)
                if kind == "ResultTooLargeFault":
                    raise ReportTooLarge(f"five9 {self.connection}: {fault.message}") from None
                error: ConnectorError = (TransientError if kind in TRANSIENT_FAULTS else ConnectorError)(
                    f"five9 {self.connection}: {what} failed: {fault.message} ({kind or fault.code})")
            except (zeep.exceptions.TransportError, requests.HTTPError) as exc:
                # zeep raises TransportError for an operation's HTTP error, requests' HTTPError for the WSDL's.
                response = getattr(exc, "response", None)
                status = getattr(exc, "status_code", None) or (response.status_code if response is not None else 0)
                if status in (401, 403):
                    raise AuthenticationError(f"five9 {self.connection}: {what} was refused (HTTP {status}); check "
                                              "username and password (and the user's Reporting role)") from None
                error = (TransientError if status >= 500 or status == 429 else ConnectorError)(
                    f"five9 {self.connection}: {what} failed with HTTP {status}")
            except requests.RequestException as exc:
                error = TransientError(f"five9 {self.connection}: {what} failed: {type(exc).__name__}")
            if not isinstance(error, TransientError) or attempt == settings.max_attempts:
                raise error
            time.sleep(delay)
            delay = min(settings.retry_max_seconds, delay * 2)
        raise AssertionError("unreachable")  # pragma: no cover

    def run_csv(self, start: datetime, end: datetime) -> str:
        """The Call Log CSV for calls that started in [start, end); criteria are sent in the domain's zone."""
        settings, tz = self.settings, self.settings.tz
        criteria = {"time": {"start": start.astimezone(tz), "end": end.astimezone(tz)}}
        identifier = self._call("runReport", lambda: self.service.runReport(
            folderName=settings.report_folder, reportName=settings.report_name, criteria=criteria))
        for _ in range(settings.max_polls):
            if not self._call("isReportRunning", lambda: self.service.isReportRunning(
                    identifier, timeout=settings.poll_timeout_seconds)):
                break
            time.sleep(settings.poll_interval_seconds)
        else:
            raise TransientError(f"five9 {self.connection}: the report for {start.isoformat()}..{end.isoformat()} "
                                 f"was still running after {settings.max_polls} polls; try again later")
        return self._call("getReportResultCsv", lambda: self.service.getReportResultCsv(identifier)) or ""

    def records(self, csv_text: str, window: Window) -> list[SourceRecord]:
        return [self.row_record(row, window) for row in csv.DictReader(io.StringIO(csv_text)) if row.get("CALL ID")]

    def row_record(self, row: dict[str, str | None], window: Window) -> SourceRecord:
        settings, tz = self.settings, self.settings.tz
        values: dict[str, Any] = {}
        extras: dict[str, str] = {}
        details: dict[str, str] = {}
        for column, raw in row.items():
            name, text = (column or "").strip().upper(), (raw or "").strip()
            if name in COLUMN_KEYS:
                values[COLUMN_KEYS[name]] = text
            elif name in KNOWN_UNMAPPED:
                details[name.lower()] = text
            elif name not in TIME_COLUMNS and column:
                extras[column] = text
        stamp = row.get("TIMESTAMP") or " ".join(filter(None, (row.get("DATE"), row.get("TIME"))))
        if stamp:
            # The window disambiguates a wall-clock time in the hour a DST change repeats.
            values["started_at"] = parse_or_keep(lambda text: parse_timestamp(text, tz, window), stamp.strip())
        if values.get("duration_s"):
            values["duration_s"] = parse_or_keep(parse_duration, values["duration_s"])
        return call_record(values, extras, details, connection=self.connection, region=settings.default_region,
                           received_at=datetime.now(UTC))

    def close(self) -> None:
        self.session.close()
