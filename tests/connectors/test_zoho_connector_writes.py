"""ZohoConnector write-back (upsert on crmsync_id, per-row results) and its credits/retry behaviour."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from crmsync.connectors.base import QuotaExhausted, WriteItem

if TYPE_CHECKING:
    from zoho_sandbox_support import ZohoSandbox

    from crmsync.connectors.zoho import ZohoConnector

pytest_plugins = ["zoho_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten


def test_upsert_maps_each_row_back_and_success_rows_succeed_beside_failures(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    connector = make_zoho_connector()
    items = [WriteItem("c-1", {"Last_Name": "Lovelace", "Email": "ada@example.com"}),
             WriteItem("c-2", {"Last_Name": "Broken", "Email": "not-an-email"}),
             WriteItem("c-3", {"First_Name": "No last name"})]
    results = connector.write("Leads", items)
    assert [(r.canonical_id, r.ok, r.created) for r in results] == [("c-1", True, True), ("c-2", False, False),
                                                                    ("c-3", False, False)]
    assert results[1].error is not None and results[1].error.startswith("INVALID_DATA") and "Email" in results[1].error
    assert results[2].error is not None and results[2].error.startswith("MANDATORY_NOT_FOUND")
    replay = connector.write("Leads", [WriteItem("c-1", {"Last_Name": "Byron"})])
    assert (replay[0].ok, replay[0].created, replay[0].external_id) == (True, False, results[0].external_id)
    assert [(r["Last_Name"], r["crmsync_id"]) for r in zoho.records("Leads")] == [("Byron", "c-1")]


def test_known_zoho_records_are_updated_by_id_and_lookups_nest(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    account = zoho.create("Accounts", Account_Name="Acme")
    deal = zoho.create("Deals", Deal_Name="Renewal", Stage="Qualification")
    connector = make_zoho_connector()
    [result] = connector.write("Deals", [WriteItem("d-1", {"Amount": Decimal("1200.50"), "Stage": "Closed Won",
                                                          "Account_Name.id": account}, external_id=deal)])
    assert (result.ok, result.created, result.external_id) == (True, False, deal)
    [stored] = zoho.records("Deals")
    assert (stored["Amount"], stored["Stage"], stored["Account_Name"]["id"], stored["crmsync_id"]) == (
        1200.5, "Closed Won", account, "d-1")


def test_spent_credits_stop_the_connector_with_a_resume_time(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    connector = make_zoho_connector(credits_reserve=0.0)
    zoho.admin("PUT", "quota", json={"daily_limit": 1000, "used": 1000})
    with pytest.raises(QuotaExhausted) as caught:
        list(connector.read("Leads", None))
    assert caught.value.resume_at is not None
    zoho.admin("PUT", "quota", json={"daily_limit": 1000, "used": 0})
    reserved = make_zoho_connector("zoho-reserve", credits_reserve=0.5)
    zoho.admin("PUT", "quota", json={"daily_limit": 1000, "used": 600})
    with pytest.raises(QuotaExhausted, match="reserve"):  # the first answer says 399 left: inside the 50 % reserve
        list(reserved.read("Leads", None))
    assert zoho.admin("GET", "zoho/usage")["used"] == 601


def test_server_errors_and_concurrency_429s_are_retried(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    zoho.create("Leads", Last_Name="One")
    connector = make_zoho_connector()
    zoho.fault(kind="server_error", path="/api/com/crm/v8/Leads", count=1)
    zoho.fault(kind="rate_limited", path="/api/com/crm/v8/Leads", count=1)
    assert len([r for p in connector.read("Leads", None) for r in p.records]) == 1
    assert zoho.admin("GET", "faults")["pending"] == []
