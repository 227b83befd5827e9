"""Deletes as Salesforce answers them: single DELETE (204, then ENTITY_IS_DELETED), sObject Collections DELETE
(200 with DeleteResults in input order, allOrNone), the recycle bin seen through queryAll and getDeleted, and
emptying it (a hard delete: gone from query and queryAll, as after Bulk hardDelete or emptyRecycleBin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from crmsync.sandbox.salesforce.values import make_id

MISSING_LEAD_ID = make_id("00Q", 999_999)  # well-formed, never created
T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def _leads(sf: Salesforce, count: int) -> list[str]:
    return [sf.Lead.create({"LastName": f"L{i}", "Company": "C"})["id"] for i in range(count)]


def _all_rows(sf: Salesforce) -> dict[str, bool]:
    """Id → IsDeleted, as queryAll (live rows and the recycle bin) returns them."""
    rows = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)["records"]
    return {row["Id"]: row["IsDeleted"] for row in rows}


def test_single_delete_is_204_then_the_record_is_in_the_recycle_bin(sandbox: SalesforceSandbox, sf: Salesforce
                                                                      ) -> None:
    sandbox.admin("POST", "clock/set", json={"now": T0.isoformat(), "freeze": True})
    kept, gone = _leads(sf, 2)
    sandbox.admin("POST", "clock/advance", json={"seconds": 5})
    raw = sf.Lead.delete(gone[:15], raw_response=True)  # a 15-character Id names the same record
    assert (raw.status_code, raw.content) == (204, b"")
    with pytest.raises(SalesforceResourceNotFound) as again:
        sf.Lead.delete(gone)
    assert error_code(again.value) == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Lead.delete(MISSING_LEAD_ID)
    assert error_code(missing.value) == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.delete(kept)  # a Lead Id under Contact is no Contact
    assert [row["Id"] for row in sf.query_all("SELECT Id FROM Lead")["records"]] == [kept]
    assert _all_rows(sf) == {kept: False, gone: True}
    [row] = sf.query_all("SELECT SystemModstamp FROM Lead WHERE IsDeleted = true", include_deleted=True)["records"]
    assert row["SystemModstamp"] == "2024-06-01T09:00:05.000+0000"  # the delete bumps SystemModstamp


def test_collection_delete_answers_each_id_in_order(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    first, second, third = _leads(sf, 3)
    sf.Lead.delete(second)
    results = sf.restful("composite/sobjects", method="DELETE", params={
        "ids": f"{first},{second},{MISSING_LEAD_ID},not-an-id,{third[:15]}", "allOrNone": "false"})
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert [r["errors"][0]["statusCode"] for r in results[1:4]] == [
        "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"]
    assert results[4] == {"id": third, "success": True, "errors": []}
    assert _all_rows(sf) == {first: True, second: True, third: True}


def test_collection_delete_all_or_none_rolls_every_row_back(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    live, gone = _leads(sf, 2)
    sf.Lead.delete(gone)
    token = sandbox.login()["access_token"]
    response = sandbox.rest("DELETE", "composite/sobjects", token, params={"ids": f"{live},{gone}",
                                                                            "allOrNone": "true"})
    assert response.status_code == 200
    assert [r["errors"][0]["statusCode"] for r in response.json()] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "ENTITY_IS_DELETED"]
    assert _all_rows(sf) == {live: False, gone: True}
    too_many = sandbox.rest("DELETE", "composite/sobjects", token, params={"ids": ",".join([live] * 201)})
    assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_emptying_the_recycle_bin_purges_records_from_query_all_and_get_deleted(
    sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    sandbox.admin("POST", "clock/set", json={"now": T0.isoformat(), "freeze": True})
    kept, binned, purged, hard = _leads(sf, 4)
    sandbox.admin("POST", "clock/advance", json={"seconds": 120})
    sf.Lead.delete(binned)
    sf.Lead.delete(purged)
    answer = sandbox.admin("POST", "recycle-bin/empty", json={"ids": [purged, hard]})
    assert answer == {"purged": [purged, hard]}  # a live record is hard-deleted (Bulk API hardDelete)
    assert _all_rows(sf) == {kept: False, binned: True}
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(hard)
    sandbox.admin("POST", "clock/advance", json={"seconds": 180})
    deleted = sf.restful("sobjects/Lead/deleted/", params={
        "start": (T0 - timedelta(minutes=1)).isoformat(), "end": (T0 + timedelta(minutes=10)).isoformat()})
    assert [row["id"] for row in deleted["deletedRecords"]] == [binned]
    assert deleted["earliestDateAvailable"] == "2024-06-01T09:02:00.000+0000"  # the last purged deletion
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{purged},{hard}"})
    assert [r["errors"][0]["statusCode"] for r in results] == ["INVALID_CROSS_REFERENCE_KEY"] * 2
    assert sandbox.admin("POST", "recycle-bin/empty", json={}) == {"purged": [binned]}  # the whole bin
    assert _all_rows(sf) == {kept: False}
