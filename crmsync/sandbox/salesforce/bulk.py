"""Bulk API 2.0 query jobs: create → poll → CSV result pages addressed by `Sforce-Locator`.

The result set is fixed when the job is created; each GET of the job moves it one state forward
(UploadComplete → InProgress → JobComplete) so a client's polling loop is exercised without real waits.
"""

from __future__ import annotations

import base64
import binascii
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from fastapi import APIRouter, Request, Response

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.salesforce.errors import SalesforceApiError, not_found_error
from crmsync.sandbox.salesforce.query import compile_soql
from crmsync.sandbox.salesforce.routing import API_PREFIX, org_of, read_json, version_of
from crmsync.sandbox.salesforce.soql.evaluate import CompiledQuery
from crmsync.sandbox.salesforce.store import Record, SObjectStore
from crmsync.sandbox.salesforce.values import format_datetime, make_id, to_text_value

BulkMode = Literal["available", "disabled", "limit_exceeded", "job_fails"]
BULK_MODES: tuple[str, ...] = get_args(BulkMode)
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
STATES = ("UploadComplete", "InProgress", "JobComplete")


@dataclass
class BulkQueryJob:
    job_id: str
    operation: str
    compiled: CompiledQuery
    rows: list[Record]
    created: datetime
    modstamp: datetime
    version: str
    column_delimiter: str
    line_ending: str
    state: str = "UploadComplete"
    polls: int = 0
    error_message: str | None = None

    def info(self, user_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.job_id, "operation": self.operation, "object": self.compiled.sobject.name,
            "createdById": user_id, "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.modstamp), "state": self.state, "concurrencyMode": "Parallel",
            "contentType": "CSV", "apiVersion": float(self.version), "jobType": "V2Query",
            "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter,
            "numberRecordsProcessed": len(self.rows) if self.state == "JobComplete" else 0,
            "retries": 0, "totalProcessingTime": 0, "isPkChunkingSupported": True,
        }
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


def _encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str) -> int:
    try:
        return int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SalesforceApiError(400, "INVALID_LOCATOR", f"Invalid locator: {locator}") from None


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    return '"' + to_text_value(value).replace('"', '""') + '"'


class BulkService:
    def __init__(self, store: SObjectStore, clock: SandboxClock, polls_until_complete: int = 2) -> None:
        self.store, self.clock = store, clock
        self.polls_until_complete = polls_until_complete
        self.mode: BulkMode = "available"
        self._jobs: dict[str, BulkQueryJob] = {}
        self._sequence = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()
            self.mode = "available"

    def set_mode(self, mode: str) -> None:
        if mode not in BULK_MODES:
            raise ValueError(f"bulk mode must be one of {', '.join(BULK_MODES)}")
        self.mode = mode  # type: ignore[assignment]

    def create(self, body: Any, version: str) -> BulkQueryJob:
        if self.mode == "disabled":
            raise SalesforceApiError(403, "API_DISABLED_FOR_ORG", "Bulk API 2.0 is not enabled for this organization")
        if self.mode == "limit_exceeded":
            raise SalesforceApiError(400, "LIMIT_EXCEEDED", "Max bulk v2 query jobs per 24 hrs exceeded")
        if not isinstance(body, dict) or body.get("operation") not in ("query", "queryAll"):
            raise SalesforceApiError(400, "INVALIDJOB", "InvalidJob : operation must be query or queryAll")
        delimiter, line_ending = body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF")
        if delimiter not in DELIMITERS or line_ending not in LINE_ENDINGS:
            raise SalesforceApiError(400, "INVALIDJOB", "InvalidJob : unsupported columnDelimiter or lineEnding")
        compiled = compile_soql(str(body.get("query") or ""), self.store, self.clock.now())
        if compiled.query.is_count or compiled.query.offset is not None:
            raise SalesforceApiError(400, "API_ERROR", "Bulk API 2.0 query does not support COUNT() or OFFSET")
        with self.store.lock:
            rows = compiled.run(self.store.rows(compiled.sobject.name, include_deleted=body["operation"] == "queryAll"))
        now = self.clock.now()
        with self._lock:
            self._sequence += 1
            job = BulkQueryJob(make_id("750", self._sequence), body["operation"], compiled, rows, now, now, version,
                               delimiter, line_ending)
            if self.mode == "job_fails":
                job.state, job.error_message = "Failed", "InternalServerError : the sandbox was told to fail jobs"
            self._jobs[job.job_id] = job
        return job

    def get(self, job_id: str) -> BulkQueryJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise not_found_error()
        return job

    def poll(self, job_id: str) -> BulkQueryJob:
        job = self.get(job_id)
        if job.state in STATES[:-1]:
            job.polls += 1
            job.state = STATES[min(len(STATES) - 1, job.polls * (len(STATES) - 1) // self.polls_until_complete)]
            job.modstamp = self.clock.now()
        return job

    def results(self, job_id: str, max_records: int | None, locator: str | None) -> tuple[str, str, int]:
        """One CSV page: (body, next locator or "null", rows in this page)."""
        job = self.get(job_id)
        if job.state != "JobComplete":
            raise SalesforceApiError(400, "INVALIDJOB", f"InvalidJob : job {job_id} is not in state JobComplete")
        offset = _decode_locator(locator) if locator else 0
        chunk = job.rows[offset:] if max_records is None else job.rows[offset : offset + max_records]
        delimiter, newline = DELIMITERS[job.column_delimiter], LINE_ENDINGS[job.line_ending]
        columns = job.compiled.columns
        lines = [delimiter.join(f'"{column.path}"' for column in columns)]
        lines += [delimiter.join(_csv_cell(column.get(row)) for column in columns) for row in chunk]
        end = offset + len(chunk)
        next_locator = _encode_locator(end) if end < len(job.rows) else "null"
        return newline.join(lines) + newline, next_locator, len(chunk)

    def abort(self, job_id: str) -> BulkQueryJob:
        job = self.get(job_id)
        if job.state in ("JobComplete", "Failed", "Aborted"):
            raise SalesforceApiError(400, "INVALIDJOB", f"InvalidJob : job {job_id} is already {job.state}")
        job.state, job.modstamp = "Aborted", self.clock.now()
        return job

    def delete(self, job_id: str) -> None:
        self.get(job_id)
        with self._lock:
            del self._jobs[job_id]

    def all_jobs(self) -> list[BulkQueryJob]:
        return list(self._jobs.values())


def build_bulk_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX + "/jobs/query")

    @api.post("")
    async def create(request: Request) -> dict[str, Any]:
        # Answer JSON even though simple-salesforce sends `Accept: text/csv` on this POST.
        org = org_of(request)
        return org.bulk.create(await read_json(request), version_of(request)).info(org.user_id)

    @api.get("")
    async def list_jobs(request: Request) -> dict[str, Any]:
        org = org_of(request)
        return {"done": True, "records": [job.info(org.user_id) for job in org.bulk.all_jobs()], "nextRecordsUrl": None}

    @api.get("/{job_id}")
    async def get_job(request: Request, job_id: str) -> dict[str, Any]:
        org = org_of(request)
        return org.bulk.poll(job_id).info(org.user_id)

    @api.get("/{job_id}/results")
    async def results(request: Request, job_id: str) -> Response:
        raw_max = request.query_params.get("maxRecords")
        if raw_max is not None and (not raw_max.isdigit() or int(raw_max) < 1):
            raise SalesforceApiError(400, "INVALIDJOB", f"InvalidJob : invalid maxRecords {raw_max}")
        body, locator, count = org_of(request).bulk.results(
            job_id, int(raw_max) if raw_max else None, request.query_params.get("locator")
        )
        headers = {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(count)}
        return Response(body, media_type="text/csv; charset=UTF-8", headers=headers)

    @api.patch("/{job_id}")
    async def change_state(request: Request, job_id: str) -> dict[str, Any]:
        org = org_of(request)
        body = await read_json(request)
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            raise SalesforceApiError(400, "INVALIDJOB", "InvalidJob : a query job can only be set to Aborted")
        return org.bulk.abort(job_id).info(org.user_id)

    @api.delete("/{job_id}")
    async def delete_job(request: Request, job_id: str) -> Response:
        org_of(request).bulk.delete(job_id)
        return Response(status_code=204)

    return api
