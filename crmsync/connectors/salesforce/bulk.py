"""Backfill windows through Bulk API 2.0 query jobs: CSV pages by locator, typed with describe.

Bulk 2.0 discourages ORDER BY (it disables PK chunking), so rows arrive unordered: pages before the last
carry the window's starting cursor and only the last page carries the watermark of everything read. A
crash mid-job therefore re-reads the window, which downstream content hashes make harmless.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

from crmsync.connectors.base import StreamPage
from crmsync.connectors.salesforce.client import first_error
from crmsync.connectors.salesforce.cursor import parse_salesforce_datetime, rest_datetime_text
from crmsync.connectors.salesforce.streams import StreamReader, Window, build_soql

log = logging.getLogger("crmsync.connectors.salesforce")

# Job-creation answers that mean "Bulk is not for us right now" rather than "the query is wrong".
BULK_UNAVAILABLE_CODES = frozenset({"API_DISABLED_FOR_ORG", "FEATURE_NOT_ENABLED", "LIMIT_EXCEEDED",
                                    "API_CURRENTLY_DISABLED", "INSUFFICIENT_ACCESS"})
NUMBER_TYPES = frozenset({"double", "currency", "percent"})


class BulkUnavailable(Exception):
    """Bulk 2.0 refused or failed the job before any page was read; the caller falls back to REST."""


def _is_unavailable(exc: Exception) -> bool:
    if isinstance(exc, SalesforceOperationError):  # job Failed / Aborted / timed out
        return True
    return isinstance(exc, SalesforceError) and first_error(exc.content)[0] in BULK_UNAVAILABLE_CODES


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


def bulk_pages(reader: StreamReader, window: Window) -> Iterator[StreamPage]:
    """One StreamPage per locator page; raises BulkUnavailable only before the first page."""
    client, settings, stream = reader.client, reader.settings, window.stream
    soql = build_soql(stream, reader.fields(stream), window.start, window.until, ordered=False)
    field_types = reader.field_types(stream)
    handler = getattr(client.sf.bulk2, stream)
    run = handler.query_all if window.include_deleted else handler.query
    csv_pages = run(soql, max_records=settings.bulk_page_size, wait=settings.bulk_poll_seconds)
    builder = reader.builder(window)
    started_cursor = window.boundary.as_cursor()
    pending: list[Any] | None = None  # one page of look-ahead: only the last page may carry the final cursor
    while True:
        try:
            text = next(csv_pages)
        except StopIteration:
            break
        except Exception as exc:
            if pending is None and _is_unavailable(exc):
                raise BulkUnavailable(_reason(exc)) from exc
            with client.errors(f"reading {stream} through Bulk API 2.0"):
                raise  # translated into the connector's error branches
        if pending is not None:
            yield StreamPage(stream, pending, started_cursor)
        assert isinstance(text, str)
        pending = builder.records(csv_rows(text, field_types))
    yield StreamPage(stream, pending or [], builder.progress.as_cursor())
