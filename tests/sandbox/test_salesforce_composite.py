"""Composite sObject Collections through `sf.restful("composite/sobjects", ...)`."""

from __future__ import annotations

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from crmsync.sandbox.salesforce.values import make_id

MISSING_LEAD_ID = make_id("00Q", 999_999)  # well-formed, never created


def lead(**fields: object) -> dict[str, object]:
    return {"attributes": {"type": "Lead"}, **fields}


def test_create_reports_per_row_errors_in_input_order(sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        lead(LastName="Ok", Company="A", crmsync_id__c="c-1"),
        lead(Company="No last name"),
        lead(LastName="Dup", Company="B", crmsync_id__c="c-1"),
        lead(LastName="Bad", Company="C", Bogus__c="x"),
        {"attributes": {"type": "Contact"}, "LastName": "Mixed types"},
    ]})
    assert results[0]["success"] is True and results[0]["errors"] == [] and results[0]["id"].startswith("00Q")
    assert [r["errors"][0]["statusCode"] for r in results[1:4]] == [
        "REQUIRED_FIELD_MISSING", "DUPLICATE_VALUE", "INVALID_FIELD"
    ]
    assert results[1]["errors"][0]["fields"] == ["LastName"]
    assert all("errorCode" not in r["errors"][0] for r in results[1:4])
    assert results[4]["success"] and results[4]["id"].startswith("003")
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 1


def test_all_or_none_rolls_back_every_row(sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": [
        lead(LastName="Would succeed", Company="A"),
        lead(LastName="Fails"),
    ]})
    assert results[0] == {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
        "fields": [],
    }]}
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_update_upsert_read_and_delete(sf: Salesforce) -> None:
    ids = [sf.Lead.create({"LastName": f"L{i}", "Company": "C", "crmsync_id__c": f"x-{i}"})["id"] for i in range(2)]
    updated = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        lead(id=ids[0], Title="Updated"),
        lead(id=MISSING_LEAD_ID, Title="Missing"),
        lead(Title="No id"),
    ]})
    assert updated[0] == {"id": ids[0], "success": True, "errors": []}
    assert [r["errors"][0]["statusCode"] for r in updated[1:]] == ["INVALID_CROSS_REFERENCE_KEY", "MISSING_ARGUMENT"]

    upserted = sf.restful("composite/sobjects/Lead/crmsync_id__c", method="PATCH", json={"records": [
        lead(crmsync_id__c="x-1", Title="Upserted"),
        lead(crmsync_id__c="x-new", LastName="New", Company="C"),
    ]})
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]
    assert upserted[0]["id"] == ids[1]

    read = sf.restful("composite/sobjects/Lead", params={"ids": f"{ids[0]},{ids[1]}," + MISSING_LEAD_ID,
                                                          "fields": "Id,Title"})
    assert [r and r["Title"] for r in read] == ["Updated", "Upserted", None]
    assert read[0]["attributes"]["type"] == "Lead"

    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{ids[0]},{ids[0]}",
                                                                         "allOrNone": "false"})
    assert deleted[0] == {"id": ids[0], "success": True, "errors": []}
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_more_than_200_records_is_rejected(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST",
                   json={"records": [lead(LastName=str(i), Company="C") for i in range(201)]})
    assert error_code(caught.value) == "EXCEEDED_ID_LIMIT"


def test_upsert_collection_reports_duplicate_external_ids(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "fields", json={"object": "Lead", "name": "Legacy_Id__c", "externalId": True})
    for i in range(2):
        sf.Lead.create({"LastName": f"L{i}", "Company": "C", "Legacy_Id__c": "same"})
    result = sf.restful("composite/sobjects/Lead/Legacy_Id__c", method="PATCH",
                        json={"records": [lead(Legacy_Id__c="same", Title="x")]})
    assert result[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"


def test_a_blocking_duplicate_rule_refuses_matching_saves(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "duplicate-rules", json={"object": "Lead", "fields": ["Email"]})
    first = sf.Lead.create({"LastName": "A", "Company": "C", "Email": "ada@x.io"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create({"LastName": "B", "Company": "C", "Email": "ADA@X.io"})
    [error] = caught.value.content
    assert (error["errorCode"], error["message"], error["fields"]) == ("DUPLICATES_DETECTED",
                                                                      "Use one of these records?", [])
    [match] = error["duplicateResult"]["matchResults"]
    assert [r["record"]["Id"] for r in match["matchRecords"]] == [first]
    rows = sf.restful("composite/sobjects", method="POST", json={"records": [
        lead(LastName="C", Company="C", Email="ada@x.io"), lead(LastName="D", Company="C", Email="d@x.io"),
        lead(LastName="E", Company="C")]})  # no Email: nothing to match on
    assert [r["success"] for r in rows] == [False, True, True]
    assert rows[0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED" and rows[0]["errors"][0]["fields"] == []
    updated = sf.restful("composite/sobjects", method="PATCH", json={"records": [lead(id=rows[1]["id"],
                                                                                     Email="ada@x.io")]})
    assert updated[0]["errors"][0]["statusCode"] == "DUPLICATES_DETECTED"
    sf.Lead.delete(first)  # the recycle bin holds no duplicates
    assert sf.Lead.create({"LastName": "F", "Company": "C", "Email": "ada@x.io"})["success"]
    sandbox.admin("POST", "reset")
    assert sandbox.admin("POST", "records/Lead", json={"LastName": "G", "Company": "C", "Email": "a@x.io"})
    assert sandbox.admin("POST", "records/Lead", json={"LastName": "H", "Company": "C", "Email": "a@x.io"})
