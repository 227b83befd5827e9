"""ZohoConnector reads through its own client over HTTPS: paging past 2,000, cursors, deletes, auth, DCs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from crmsync.connectors.base import AuthenticationError, Capability

if TYPE_CHECKING:
    from zoho_sandbox_support import ZohoSandbox

    from crmsync.connectors.zoho import ZohoConnector

pytest_plugins = ["zoho_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten


def _ids(pages: list) -> list[str]:
    return [record.external_id for page in pages for record in page.records]


def test_backfill_of_5000_leads_pages_past_2000_and_resumes_from_any_page(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    zoho.seed("Leads", 5000)
    connector = make_zoho_connector()
    assert connector.system == "zoho" and Capability.WEBHOOKS in connector.capabilities
    pages = list(connector.read("Leads", None))
    live = [page for page in pages if page.records and not page.records[0].deleted]
    assert len(live) == 25 and len(set(_ids(live))) == 5000
    first = live[0].records[0]
    assert first.system == "zoho" and first.connection == "zoho-test" and first.payload["Last_Name"]
    resumed = list(connector.read("Leads", live[12].cursor))  # all 5000 share one second: ids disambiguate
    assert set(_ids(resumed)) == set(_ids(live[13:]))


def test_incremental_read_returns_changes_and_deletions_once(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    zoho.admin("POST", "clock/set", json={"now": "2026-02-01T12:00:00Z", "freeze": True})
    ids = [zoho.create("Contacts", Last_Name=f"C{i}", Email=f"c{i}@example.com") for i in range(4)]
    connector = make_zoho_connector()
    cursor = list(connector.read("Contacts", None))[-1].cursor
    assert list(connector.read("Contacts", cursor))[-1].records == []  # nothing new: the boundary ids are known
    sibling = zoho.create("Contacts", Last_Name="Same second")  # shares the watermark's second: still found
    zoho.advance(30)
    zoho.update("Contacts", ids[1], Title="CTO")
    zoho.delete("Contacts", ids[2])
    pages = list(connector.read("Contacts", cursor))
    changed = [r for p in pages for r in p.records]
    assert [(r.external_id, r.deleted) for r in changed] == [(sibling, False), (ids[1], False), (ids[2], True)]
    assert changed[1].payload["Title"] == "CTO"
    assert changed[2].modified_at == datetime(2026, 2, 1, 12, 0, 30, tzinfo=UTC)
    again = list(connector.read("Contacts", pages[-1].cursor))
    assert _ids(again) == []


def test_window_reads_stop_at_until(zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    zoho.admin("POST", "clock/set", json={"now": "2026-02-01T12:00:00Z", "freeze": True})
    early = zoho.create("Accounts", Account_Name="Early")
    zoho.advance(60)
    zoho.create("Accounts", Account_Name="Late")
    connector = make_zoho_connector()
    pages = list(connector.read("Accounts", None, since=datetime(2026, 2, 1, 11, tzinfo=UTC),
                                until=datetime(2026, 2, 1, 12, 0, 30, tzinfo=UTC)))
    assert _ids(pages) == [early]


def test_expired_token_is_refreshed_once_and_the_call_replayed(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    zoho.create("Leads", Last_Name="One")
    connector = make_zoho_connector()
    assert len(_ids(connector.read("Leads", None))) == 1
    zoho.advance(3601)  # the access token's hour is over
    assert len(_ids(connector.read("Leads", None))) == 1
    assert connector.client.refreshes == 2
    assert connector.client.api_domain == f"{zoho.base_url}/api/com"


def test_a_refresh_token_used_at_the_wrong_data_centre_is_refused(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    credentials = zoho.endpoint.credentials
    connector = make_zoho_connector(accounts_url=credentials["accounts_url_com"],
                                    refresh_token=credentials["refresh_token_eu"])
    with pytest.raises(AuthenticationError, match="invalid_code") as caught:
        list(connector.read("Leads", None))
    assert credentials["refresh_token_eu"] not in str(caught.value)


def test_two_connections_in_two_data_centres_read_concurrently(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    zoho.seed("Leads", 300)
    zoho.seed("Leads@eu", 500)
    connectors = {"com": make_zoho_connector("zoho-us"), "eu": make_zoho_connector("zoho-eu", dc="eu")}
    counts: dict[str, int] = {}

    def read(dc: str) -> None:
        counts[dc] = len(_ids(connectors[dc].read("Leads", None)))

    threads = [threading.Thread(target=read, args=(dc,)) for dc in connectors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == {"com": 300, "eu": 500}
    assert connectors["eu"].client.api_domain == f"{zoho.base_url}/api/eu"


def test_list_ids_pages_past_2000_and_leaves_out_deleted_and_purged_records(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    zoho.seed("Leads", 2300)
    every = sorted((row["id"] for row in zoho.records("Leads")), key=int)
    recycled, purged, binned_then_purged = every[:3]
    zoho.delete("Leads", recycled)
    zoho.admin("POST", "zoho/purge", json={"module": "Leads", "id": purged})  # deleted for good: no entry left
    zoho.delete("Leads", binned_then_purged)
    zoho.admin("POST", "zoho/purge", json={"module": "Leads", "id": binned_then_purged})  # expired from the bin
    connector = make_zoho_connector()
    assert Capability.ID_LISTING in connector.capabilities
    pages = list(connector.list_ids("Leads"))
    assert [len(page) for page in pages] == [200] * 11 + [97]  # the 11th and 12th pages need page_token
    assert [record_id for page in pages for record_id in page] == every[3:]
