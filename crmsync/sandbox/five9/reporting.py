"""Reporting through the Configuration Web Services (SOAP 1.1): runReport → isReportRunning → getReportResultCsv.

Only the standard Call Log report exists (folder `Call Log Reports`, report `Call Log`); it lists the calls
that started in the criteria's [start, end), times in the account's zone, with the standard columns
(contract sheet §6.3). `isReportRunning` answers true for the first `running_polls` polls of a run, without
waiting out its timeout. A result over the row limit (50,000 by default) is a fault, never a cut-off CSV.

Faults are `soap:Fault` with a `faultstring` and, in `detail`, one element naming the kind (this emulator's
names, since Five9's are not in the contract sheet): ReportNotFoundFault, InvalidCriteriaFault,
ResultTooLargeFault, IdentifierNotFoundFault, ReportRunningFault, UnknownOperationFault.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from defusedxml import ElementTree

from crmsync.sandbox.five9.calls import Call, CallLog
from crmsync.sandbox.five9.formats import hms, report_timestamp
from crmsync.sandbox.five9.wsdl import SERVICE_NS

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CALL_LOG_REPORT = ("Call Log Reports", "Call Log")
DEFAULT_ROW_LIMIT = 50_000
CALL_LOG_COLUMNS = (
    "CALL ID", "TIMESTAMP", "CAMPAIGN", "CALL TYPE", "AGENT", "AGENT NAME", "DISPOSITION", "ANI", "CUSTOMER NAME",
    "DNIS", "CALL TIME", "BILL TIME (ROUNDED)", "COST", "IVR TIME", "QUEUE WAIT TIME", "RING TIME", "TALK TIME",
    "HOLD TIME", "PARK TIME", "AFTER CALL WORK TIME", "TRANSFERS", "CONFERENCES", "HOLDS", "ABANDONED", "RECORDINGS",
)


class SoapFault(Exception):
    def __init__(self, kind: str, message: str, code: str = "soap:Server") -> None:
        super().__init__(message)
        self.kind, self.message, self.code = kind, message, code

    def envelope(self) -> str:
        return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
                f"<soap:Fault><faultcode>{self.code}</faultcode><faultstring>{escape(self.message)}</faultstring>"
                f'<detail><ns2:{self.kind} xmlns:ns2="{SERVICE_NS}"><message>{escape(self.message)}</message>'
                f"</ns2:{self.kind}></detail></soap:Fault></soap:Body></soap:Envelope>")


def response_envelope(operation: str, value: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
            f'<ns2:{operation}Response xmlns:ns2="{SERVICE_NS}"><return>{escape(value)}</return>'
            f"</ns2:{operation}Response></soap:Body></soap:Envelope>")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((child for child in element if _local(child.tag) == name), None)


def _text(element: Element | None, name: str) -> str | None:
    found = _child(element, name)
    return None if found is None or found.text is None else found.text.strip()


def parse_request(body: bytes) -> tuple[str, Element]:
    """(operation, its element) from a SOAP 1.1 envelope; a client fault when it is not one."""
    try:
        root = ElementTree.fromstring(body)
    except Exception:  # defusedxml raises several types (ParseError, DTDForbidden ...): all mean "not ours"
        raise SoapFault("UnknownOperationFault", "the request is not a well-formed SOAP envelope",
                        "soap:Client") from None
    soap_body = _child(root, "Body") if _local(root.tag) == "Envelope" else None
    operation = next(iter(soap_body), None) if soap_body is not None else None
    if operation is None:
        raise SoapFault("UnknownOperationFault", "no operation in the SOAP Body", "soap:Client")
    return _local(operation.tag), operation


@dataclass
class ReportRun:
    identifier: str
    calls: list[Call]
    polls_left: int


class Reporting:
    """Report runs of the domain. `row_limit` and `running_polls` can change at run time (admin API)."""

    def __init__(self, calls: CallLog, tz: ZoneInfo, row_limit: int = DEFAULT_ROW_LIMIT,
                 running_polls: int = 1) -> None:
        self.calls, self.tz = calls, tz
        self.row_limit, self.running_polls = row_limit, running_polls
        self._runs: dict[str, ReportRun] = {}
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []  # runReport criteria seen, for tests that check windows

    def reset(self) -> None:
        with self._lock:
            self._runs.clear()
            self.requests.clear()

    def handle(self, body: bytes) -> str:
        operation, element = parse_request(body)
        if operation == "runReport":
            return response_envelope(operation, self.run_report(element))
        if operation == "isReportRunning":
            return response_envelope(operation, "true" if self.is_running(_text(element, "identifier")) else "false")
        if operation == "getReportResultCsv":
            return response_envelope(operation, self.result_csv(_text(element, "identifier")))
        raise SoapFault("UnknownOperationFault", f"operation {operation} is not offered by this service",
                        "soap:Client")

    def _moment(self, criteria_time: Element | None, name: str) -> datetime:
        raw = _text(criteria_time, name)
        if not raw:
            raise SoapFault("InvalidCriteriaFault", f"criteria.time.{name} is required")
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise SoapFault("InvalidCriteriaFault", f"criteria.time.{name} is not an xs:dateTime: {raw}") from None
        return moment.replace(tzinfo=self.tz) if moment.tzinfo is None else moment

    def run_report(self, element: Element) -> str:
        folder, report = _text(element, "folderName"), _text(element, "reportName")
        if (folder, report) != CALL_LOG_REPORT:
            raise SoapFault("ReportNotFoundFault", f"Report '{report}' not found in folder '{folder}'")
        time_criteria = _child(_child(element, "criteria"), "time")
        start, end = self._moment(time_criteria, "start"), self._moment(time_criteria, "end")
        if end <= start:
            raise SoapFault("InvalidCriteriaFault", "criteria.time.end must be after criteria.time.start")
        identifier = secrets.token_hex(16)
        run = ReportRun(identifier, self.calls.between(start, end), self.running_polls)
        with self._lock:
            self._runs[identifier] = run
            self.requests.append({"start": start.isoformat(), "end": end.isoformat(), "rows": len(run.calls)})
        return identifier

    def _run(self, identifier: str | None) -> ReportRun:
        with self._lock:
            run = self._runs.get(identifier or "")
        if run is None:
            raise SoapFault("IdentifierNotFoundFault", f"no report run with identifier '{identifier}'")
        return run

    def is_running(self, identifier: str | None) -> bool:
        run = self._run(identifier)
        with self._lock:
            if run.polls_left > 0:
                run.polls_left -= 1
                return True
        return False

    def result_csv(self, identifier: str | None) -> str:
        run = self._run(identifier)
        if run.polls_left > 0:
            raise SoapFault("ReportRunningFault", "the report is still running; poll isReportRunning first")
        if len(run.calls) > self.row_limit:
            raise SoapFault("ResultTooLargeFault", f"the report result has {len(run.calls)} rows, over the limit "
                            f"of {self.row_limit}; run it for a shorter time range")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CALL_LOG_COLUMNS)
        writer.writerows(self.row(call) for call in run.calls)
        return out.getvalue()

    def row(self, call: Call) -> list[str]:
        billed = math.ceil(call.duration_s / 60) * 60
        return [
            call.call_id, report_timestamp(call.started_at, self.tz), call.campaign, call.call_type, call.agent,
            call.agent_name, call.disposition or "", call.ani, call.customer_name, call.dnis, hms(call.duration_s),
            hms(billed), "0.00", hms(0), hms(call.queue_time_s), hms(3), hms(call.talk_time_s),
            hms(call.hold_time_s), hms(0), hms(call.wrapup_time_s), "0", "0", "1" if call.hold_time_s else "0",
            "0", call.recording_url or "",
        ]

