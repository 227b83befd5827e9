"""Backfill windows through Bulk API 2.0 (locator pages, typed CSV) and the REST fallback when Bulk is
unavailable: both paths must hand the engine the very same records."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from salesforce_connector_support import SalesforceOrgAdmin, ids_of

from crmsync.connectors.base import QuotaExhausted, StreamPage
from crmsync.connectors.salesforce import SalesforceConnector

LOG = "crmsync.connectors.salesforce"


def _since() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def _by_id(pages: list[StreamPage]) -> dict[str, tuple[bool, dict[str, object]]]:
    return {r.external_id: (r.deleted, dict(r.payload)) for page in pages for r in page.records}


def _watermark(cursor: Mapping[str, Any]) -> tuple[Any, Any]:
    """What a cursor says was delivered (leaving out when the read ran)."""
    return cursor["modstamp"], cursor["last_ids"]


def test_backfill_reads_every_bulk_locator_page(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector], caplog: pytest.LogCaptureFixture
) -> None:
    org.seed("Lead", 2500)
    connector = make_connector(bulk_threshold=0, bulk_page_size=1000)
    with caplog.at_level(logging.INFO, LOG):
        pages = list(connector.read("Lead", None, since=_since()))
    assert "through Bulk API 2.0" in caplog.text and "REST" not in caplog.text
    assert [len(page.records) for page in pages] == [1000, 1000, 500]
    assert len(set(ids_of(pages))) == 2500
    # Bulk rows are unordered: only the last page may move the cursor past the window it read; the pages
    # before it keep the window's start and name the job and its next result page, for a resume.
    assert [_watermark(page.cursor) for page in pages[:-1]] == [(None, [])] * 2
    positions = [page.cursor["bulk"] for page in pages[:-1]]
    assert len({p["job"] for p in positions}) == 1 and len({p["locator"] for p in positions}) == 2
    assert "bulk" not in pages[-1].cursor
    assert len(pages[-1].cursor["last_ids"]) == 2500
    incremental = list(make_connector(page_size=2000).read("Lead", pages[-1].cursor))
    assert ids_of(incremental) == [] and {str(_watermark(page.cursor)) for page in incremental} == {
        str(_watermark(pages[-1].cursor))}


@pytest.mark.parametrize("mode", ["disabled", "limit_exceeded", "job_fails"])
def test_bulk_unavailable_falls_back_to_rest_with_the_same_records(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector], caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    for object_name, count in (("Account", 20), ("Lead", 40), ("Opportunity", 150), ("Task", 250)):
        org.seed(object_name, count)
    org.admin("DELETE", f"records/Task/{org.records('Task')[0]['Id']}")  # a window read includes deletes
    connector = make_connector(bulk_threshold=0, bulk_page_size=100, page_size=200)
    since = _since()
    via_bulk = {stream: list(connector.read(stream, None, since=since)) for stream in ("Task", "Opportunity")}
    org.admin("PUT", "bulk", json={"mode": mode})
    with caplog.at_level(logging.INFO, LOG):
        via_rest = {stream: list(connector.read(stream, None, since=since)) for stream in ("Task", "Opportunity")}
    assert caplog.text.count("falling back to REST query") == 2
    for stream in via_bulk:
        assert _by_id(via_bulk[stream]) == _by_id(via_rest[stream])  # same values, same Python types
        assert _watermark(via_bulk[stream][-1].cursor) == _watermark(via_rest[stream][-1].cursor)
    tasks = _by_id(via_bulk["Task"])
    assert len(tasks) == 250 and sum(deleted for deleted, _ in tasks.values()) == 1
    _, task = next(iter(tasks.values()))
    assert isinstance(task["CallDurationInSeconds"], int) and isinstance(task["Five9__Five9HandleTime__c"], float)
    assert isinstance(task["IsDeleted"], bool) and str(task["SystemModstamp"]).endswith("+0000")
    _, deal = next(iter(_by_id(via_bulk["Opportunity"]).values()))
    assert isinstance(deal["Amount"], float) and len(str(deal["CloseDate"])) == 10


def test_bulk_threshold_picks_the_path_by_row_count(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector], caplog: pytest.LogCaptureFixture
) -> None:
    org.seed("Account", 120)
    connector = make_connector(bulk_threshold=100)
    with caplog.at_level(logging.INFO, LOG):
        assert len(ids_of(connector.read("Account", None, since=_since()))) == 120
        assert len(ids_of(connector.read("Account", None, since=_since(), until=_since()))) == 0
    messages = [record.getMessage() for record in caplog.records]
    paths = [message.split(" through ")[1] for message in messages if " through " in message]
    assert paths == ["Bulk API 2.0", "REST query"]  # 120 rows ≥ 100 → Bulk; an empty window → REST


def test_a_server_error_on_a_bulk_result_page_is_retried_mid_job(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    org.seed("Contact", 300)
    org.fault(kind="server_error", path="/services/data/*/jobs/query/*/results", count=2)
    connector = make_connector(bulk_threshold=0, bulk_page_size=100)
    pages = list(connector.read("Contact", None, since=_since()))  # retried inside the SDK's page generator
    assert [len(page.records) for page in pages] == [100, 100, 100]
    assert org.admin("GET", "faults")["pending"] == []


def test_a_quota_refusal_from_bulk_is_not_mistaken_for_bulk_being_unavailable(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    org.seed("Contact", 10)
    org.fault(kind="quota_exhausted", path="/services/data/*/jobs/query", method="POST")
    with pytest.raises(QuotaExhausted):
        list(make_connector(bulk_threshold=0).read("Contact", None, since=_since()))
