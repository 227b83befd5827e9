"""ZohoConnector write-back (upsert on crmsync_id, per-row results) and its credits/retry behaviour."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from crmsync.connectors.base import Capability, QuotaExhausted, WriteItem

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


def test_delete_items_go_to_the_recycle_bin_in_input_order_beside_upserts(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    first, second, gone = (zoho.create("Leads", Last_Name=name) for name in ("First", "Second", "Gone"))
    zoho.delete("Leads", gone)  # already in the recycle bin: deleting it again counts as deleted
    connector = make_zoho_connector(write_batch_size=2)
    assert Capability.DELETE_WRITES in connector.capabilities
    results = connector.write("Leads", [
        WriteItem("l-first", {}, first, delete=True),
        WriteItem("l-new", {"Last_Name": "New"}),
        WriteItem("l-never", {}, None, delete=True),  # never written to this org: nothing to delete
        WriteItem("l-gone", {}, gone, delete=True),
        WriteItem("l-second", {}, second, delete=True),
    ])
    assert [(r.canonical_id, r.ok) for r in results] == [("l-first", True), ("l-new", True), ("l-never", True),
                                                         ("l-gone", True), ("l-second", True)]
    assert [r["Last_Name"] for r in zoho.records("Leads")] == ["New"]
    binned = [row for row in zoho.admin("GET", "records/Leads", params={"include_deleted": True})
              if row.get("$deleted")]
    assert sorted(row["id"] for row in binned) == sorted([first, second, gone])


def test_a_duplicate_account_name_is_held_naming_the_field_and_the_existing_account(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector]) -> None:
    existing = zoho.create("Accounts", Account_Name="Acme")
    results = make_zoho_connector().write("Accounts", [WriteItem("co-1", {"Account_Name": "ACME"}),
                                                       WriteItem("co-2", {"Account_Name": "Globex"})])
    assert [(r.ok, r.held) for r in results] == [(False, True), (True, False)]
    reason = results[0].error or ""
    assert "Account_Name" in reason and "'ACME'" in reason and existing in reason and not results[0].retryable
