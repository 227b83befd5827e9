"""The Five9 emulator's reporting web services (SOAP 1.1): WSDL in zeep, report runs, CSV, DST, caps, faults."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import zeep
import zeep.exceptions

if TYPE_CHECKING:
    from five9_sandbox_support import Five9Sandbox

pytest_plugins = ["five9_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten

FOLDER, REPORT = "Call Log Reports", "Call Log"


def _client(five9: Five9Sandbox) -> zeep.Client:
    session = five9.endpoint.requests_session()
    session.auth = (five9.endpoint.credentials["username"], five9.endpoint.credentials["password"])
    return zeep.Client(five9.endpoint.credentials["wsdl_url"], transport=zeep.Transport(session=session))


def _criteria(start: datetime, end: datetime) -> dict[str, object]:
    return {"time": {"start": start, "end": end}}


def _fault_kind(info: pytest.ExceptionInfo[zeep.exceptions.Fault]) -> str:
    return str(info.value.detail[0].tag).rsplit("}", 1)[-1]


def test_wsdl_loads_in_zeep_and_needs_basic_auth(five9: Five9Sandbox) -> None:
    client = _client(five9)
    operations = set(client.service._binding._operations)
    assert operations == {"runReport", "isReportRunning", "getReportResultCsv"}
    assert client.service._binding_options["address"] == f"{five9.base_url}/wsadmin/v12/AdminWebService"
    anonymous = five9.http.get(five9.endpoint.credentials["wsdl_url"])
    assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
    assert five9.soap("<x/>", auth=("someone", "wrong")).status_code == 401


def test_call_log_report_runs_polls_and_returns_csv_in_the_account_time_zone(five9: Five9Sandbox) -> None:
    five9.reporting(running_polls=2)
    # Around the spring-forward change in Los Angeles (2024-03-10 02:00 PST -> 03:00 PDT) and in the summer.
    five9.place_call(ani="4155550101", start="2024-03-10T09:59:00Z", duration=65, disposition="Sold", recorded=True)
    five9.place_call(ani="4155550102", start="2024-03-10T10:01:00Z", duration=3725.9, call_type="Manual",
                     dnis="2125550123")
    five9.place_call(start="2024-03-11T10:00:00Z")  # outside the window
    client = _client(five9)
    identifier = client.service.runReport(folderName=FOLDER, reportName=REPORT, criteria=_criteria(
        datetime(2024, 3, 10, tzinfo=UTC), datetime(2024, 3, 11, tzinfo=UTC)))
    polls = [client.service.isReportRunning(identifier, timeout=5) for _ in range(3)]
    assert polls == [True, True, False]
    rows = list(csv.DictReader(io.StringIO(client.service.getReportResultCsv(identifier))))
    assert [row["TIMESTAMP"] for row in rows] == ["Sun, 10 Mar 2024 01:59:00", "Sun, 10 Mar 2024 03:01:00"]
    first, second = rows
    assert first["CALL TYPE"] == "Inbound" and first["DISPOSITION"] == "Sold" and first["CALL TIME"] == "00:01:05"
    assert first["RECORDINGS"].endswith(f"/recordings/{first['CALL ID']}.wav")
    assert second["CALL TYPE"] == "Manual" and second["CALL TIME"] == "01:02:05" and second["DNIS"] == "2125550123"
    assert second["RECORDINGS"] == "" and second["DISPOSITION"] == ""
    assert {"AGENT NAME", "TALK TIME", "ANI", "CAMPAIGN", "AFTER CALL WORK TIME"} <= set(first)


def test_criteria_with_an_offset_are_honoured(five9: Five9Sandbox) -> None:
    five9.place_call(start="2024-01-01T08:30:00Z")  # 00:30 PST
    client = _client(five9)
    start = datetime.fromisoformat("2024-01-01T00:00:00.000-08:00")  # as Five9's docs write criteria
    identifier = client.service.runReport(folderName=FOLDER, reportName=REPORT,
                                          criteria=_criteria(start, start + timedelta(hours=1)))
    assert [client.service.isReportRunning(identifier, timeout=1) for _ in range(2)] == [True, False]
    assert client.service.getReportResultCsv(identifier).count("\n") == 2  # header + the one call


def test_soap_faults_for_unknown_reports_bad_criteria_ids_and_the_row_cap(five9: Five9Sandbox) -> None:
    client = _client(five9)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(zeep.exceptions.Fault) as unknown:
        client.service.runReport(folderName=FOLDER, reportName="Nope", criteria=_criteria(start, start))
    assert _fault_kind(unknown) == "ReportNotFoundFault" and "Nope" in unknown.value.message
    with pytest.raises(zeep.exceptions.Fault) as backwards:
        client.service.runReport(folderName=FOLDER, reportName=REPORT, criteria=_criteria(start, start))
    assert _fault_kind(backwards) == "InvalidCriteriaFault"
    with pytest.raises(zeep.exceptions.Fault) as missing:
        client.service.runReport(folderName=FOLDER, reportName=REPORT, criteria={})
    assert _fault_kind(missing) == "InvalidCriteriaFault" and "start" in missing.value.message
    with pytest.raises(zeep.exceptions.Fault) as no_run:
        client.service.getReportResultCsv("no-such-run")
    assert _fault_kind(no_run) == "IdentifierNotFoundFault"

    five9.reporting(row_limit=3, running_polls=0)
    for minute in range(4):
        five9.place_call(start=f"2024-05-01T10:0{minute}:00Z")
    identifier = client.service.runReport(folderName=FOLDER, reportName=REPORT,
                                          criteria=_criteria(start, start + timedelta(days=1)))
    assert client.service.isReportRunning(identifier, timeout=0) is False
    with pytest.raises(zeep.exceptions.Fault) as too_large:
        client.service.getReportResultCsv(identifier)
    assert _fault_kind(too_large) == "ResultTooLargeFault" and "4 rows" in too_large.value.message
    assert [run["rows"] for run in five9.reporting()["runs"]] == [4]


def test_malformed_envelopes_and_unknown_operations_are_client_faults(five9: Five9Sandbox) -> None:
    broken = five9.soap("<not-xml")
    assert broken.status_code == 500 and "<faultcode>soap:Client</faultcode>" in broken.text
    entity = five9.soap('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert entity.status_code == 500 and "soap:Client" in entity.text  # defusedxml refuses entities
    other = five9.soap('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
                       '<ser:getUsersInfo xmlns:ser="http://service.admin.ws.five9.com/"/></soapenv:Body>'
                       "</soapenv:Envelope>")
    assert other.status_code == 500 and "UnknownOperationFault" in other.text
