"""Backfill windows through Bulk API 2.0 query jobs: CSV pages by locator, typed with describe.

Bulk 2.0 discourages ORDER BY (it disables PK chunking), so rows arrive unordered and a page's rows say
nothing about what is left. Instead a page's cursor says where the job stands: the window's starting cursor
plus `bulk` = the job, the locator of the next result page, a digest of the job's query and the watermark of
the rows read so far. A resumed read (`crmsync backfill --resume` after a crash or a stop) asks the same job
for the next page on, as long as the org still has the job and the query is still the one this window
builds; otherwise it starts a new job for the window, whose re-read rows the content hashes make harmless.
Only the last page carries the watermark of everything read, with the job's creation time (the org's clock,
before the result set was fixed) as the time the read ran.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from crmsync.connectors.base import StreamPage
from crmsync.connectors.salesforce.client import first_error
from crmsync.connectors.salesforce.cursor import Watermark, parse_salesforce_datetime, rest_datetime_text
from crmsync.connectors.salesforce.streams import StreamReader, Window, build_soql

log = logging.getLogger("crmsync.connectors.salesforce")

# Job-creation answers that mean "Bulk is not for us right now" rather than "the query is wrong".
BULK_UNAVAILABLE_CODES = frozenset({"API_DISABLED_FOR_ORG", "FEATURE_NOT_ENABLED", "LIMIT_EXCEEDED",
                                    "API_CURRENTLY_DISABLED", "INSUFFICIENT_ACCESS"})
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
# Answers to a resumed job's next page that mean "the org no longer has that job or page": start a new job.
JOB_GONE_CODES = frozenset({"NOT_FOUND", "INVALIDJOB", "INVALID_LOCATOR", "INVALID_QUERY_LOCATOR"})


class BulkUnavailable(Exception):
    """Bulk 2.0 refused or failed the job before any page was read; the caller falls back to REST."""


def _is_unavailable(exc: Exception) -> bool:
    if isinstance(exc, SalesforceOperationError):  # job Failed / Aborted / timed out
        return True
    return isinstance(exc, SalesforceError) and first_error(exc.content)[0] in BULK_UNAVAILABLE_CODES


def _job_gone(exc: SalesforceError) -> bool:
    return exc.status == 404 or first_error(exc.content)[0] in JOB_GONE_CODES


def _reason(exc: Exception) -> str:
    if isinstance(exc, SalesforceError):
        return f"HTTP {exc.status} {first_error(exc.content)[0]}"
    return str(exc)[:200]


def csv_value(text: str, field_type: str | None) -> Any:
    """A Bulk CSV cell as the REST API would have returned it (JSON types, REST datetime format)."""
    if text == "":
        return None
    if field_type == "boolean":
        return text.lower() == "true"
    if field_type == "int":
        return int(float(text))
    if field_type in NUMBER_TYPES:
        return float(text)
    if field_type == "datetime":
        return rest_datetime_text(parse_salesforce_datetime(text))
    return text


def csv_rows(text: str, field_types: Mapping[str, str]) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return [{name: csv_value(value, field_types.get(name)) for name, value in row.items()} for row in reader]


def query_digest(soql: str) -> str:
    return hashlib.blake2b(soql.encode(), digest_size=8).hexdigest()


@dataclass
class BulkPosition:
    """Where a read through one Bulk job stands after a page: `locator` names the next result page."""

    job_id: str
    locator: str
    query: str  # query_digest of the job's SOQL: a resume continues the job only for the same query
    created: datetime  # the job's createdDate, on the org's clock
    progress: Watermark  # the rows read from the job so far

    @classmethod
    def from_cursor(cls, cursor: Mapping[str, Any] | None, stream: str) -> BulkPosition | None:
        state = (cursor or {}).get("bulk")
        if not isinstance(state, Mapping):
            return None
        return cls(str(state["job"]), str(state["locator"]), str(state["query"]),
                   parse_salesforce_datetime(str(state["created"])), Watermark.from_cursor(state["seen"], stream))

    def as_cursor(self, start: Watermark) -> dict[str, Any]:
        """The cursor of a page before the last: the window's start, and this position within the job."""
        return {**start.as_cursor(), "bulk": {
            "job": self.job_id, "locator": self.locator, "query": self.query,
            "created": self.created.isoformat(timespec="milliseconds"), "seen": self.progress.as_cursor()}}


class BulkQuery:
    """One window read through one Bulk 2.0 query job, page by page (simple-salesforce's Bulk 2.0 client: its
    `query()` generator hides the job id and the locators a resume needs)."""

    def __init__(self, reader: StreamReader, window: Window) -> None:
        self.reader, self.window = reader, window
        self.client, self.settings = reader.client, reader.settings
        self.soql = build_soql(window.stream, reader.fields(window.stream), window.start, window.until, ordered=False)
        self.jobs = getattr(self.client.sf.bulk2, window.stream)._client

    def start(self) -> tuple[str, datetime]:
        """Create the job and wait for it; BulkUnavailable when the org will not run it."""
        operation = Operation.query_all if self.window.include_deleted else Operation.query
        try:
            job = self.jobs.create_job(operation, self.soql)
            self.jobs.wait_for_job(job["id"], True, self.settings.bulk_poll_seconds)
        except Exception as exc:
            if _is_unavailable(exc):
                raise BulkUnavailable(_reason(exc)) from exc
            with self.client.errors(f"starting a Bulk API 2.0 job for {self.window.stream}"):
                raise  # translated into the connector's error branches
        return str(job["id"]), parse_salesforce_datetime(str(job["createdDate"]))

    def page(self, job_id: str, locator: str) -> tuple[str, str]:
        """(CSV text, next locator or "" after the last page)."""
        result = self.jobs.get_query_results(job_id, locator, self.settings.bulk_page_size)
        return str(result["records"]), str(result["locator"] or "")


def bulk_pages(reader: StreamReader, window: Window, resume: BulkPosition | None = None) -> Iterator[StreamPage]:
    """One StreamPage per locator page, continuing `resume`'s job when the org still has it; raises
    BulkUnavailable only before the first page."""
    query, stream = BulkQuery(reader, window), window.stream
    builder, digest = reader.builder(window), query_digest(query.soql)
    page = _resumed_page(query, resume) if resume is not None and resume.query == digest else None
    if page is not None and resume is not None:
        job_id, created, builder.progress = resume.job_id, resume.created, resume.progress
    else:
        job_id, created = query.start()
        with reader.client.errors(f"reading {stream} through Bulk API 2.0"):
            page = query.page(job_id, "")
    field_types = reader.field_types(stream)
    while True:
        text, locator = page
        records = builder.records(csv_rows(text, field_types))
        if not locator:
            if window.until is None:
                builder.progress.read_ran_at(created)
            yield StreamPage(stream, records, builder.progress.as_cursor())
            return
        yield StreamPage(stream, records, BulkPosition(job_id, locator, digest, created, builder.progress)
                         .as_cursor(window.boundary))
        with reader.client.errors(f"reading {stream} through Bulk API 2.0"):
            page = query.page(job_id, locator)


def _resumed_page(query: BulkQuery, resume: BulkPosition) -> tuple[str, str] | None:
    """The next page of the job a stopped read was in, or None when the org no longer has that job."""
    reader = query.reader
    try:
        return query.page(resume.job_id, resume.locator)
    except SalesforceError as exc:
        if not _job_gone(exc):
            with reader.client.errors(f"resuming Bulk API 2.0 job {resume.job_id} for {query.window.stream}"):
                raise
        log.warning("salesforce %s: Bulk API 2.0 job %s is gone (%s); reading the %s window again with a new job",
                    reader.connection, resume.job_id, _reason(exc), query.window.stream)
        return None
