"""sObject CRUD status codes, upsert by external id, describe — through simple-salesforce."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from crmsync.sandbox.salesforce.values import make_id

MISSING_LEAD_ID = make_id("00Q", 999_999)  # well-formed, never created


def test_create_read_update_delete_status_codes(sf: Salesforce) -> None:
    created = sf.Lead.create({"FirstName": "Ada", "LastName": "Lovelace", "Company": "Engines", "Email": "ada@e.io"})
    assert set(created) == {"id", "success", "errors"} and created["success"] is True
    lead_id = created["id"]
    assert len(lead_id) == 18 and lead_id.startswith("00Q")

    record = sf.Lead.get(lead_id)
    assert record["attributes"] == {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}"}
    assert (record["Name"], record["Status"], record["IsDeleted"]) == ("Ada Lovelace", "Open - Not Contacted", False)
    assert record["CreatedDate"].endswith("+0000") and record["CreatedDate"][19] == "."
    assert record["OwnerId"].startswith("005") and record["CreatedById"] == record["LastModifiedById"]

    partial = sf.Lead.get(lead_id[:15], params={"fields": "Email,company"})  # 15-char ids are accepted
    assert list(partial) == ["attributes", "Email", "Company"]

    assert sf.Lead.update(lead_id, {"Title": "Countess"}) == 204
    assert sf.Lead.get(lead_id)["Title"] == "Countess"
    assert sf.Lead.delete(lead_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(lead_id)
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Lead.update(lead_id, {"Title": "x"})
    assert error_code(caught.value) == "ENTITY_IS_DELETED"


def test_create_status_is_201(sf: Salesforce) -> None:
    response = sf.Account.create({"Name": "Raw"}, headers=None)
    assert response["success"]
    raw = sf.Account.update(response["id"], {"Website": "https://raw.example"}, raw_response=True)
    assert raw.status_code == 204 and raw.content == b""


@pytest.mark.parametrize(
    ("payload", "code", "fields"),
    [
        ({"Company": "No last name"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
        ({"LastName": "No company"}, "REQUIRED_FIELD_MISSING", ["Company"]),
        ({"LastName": "X", "Company": "Y", "Bogus__c": 1}, "INVALID_FIELD", ["Bogus__c"]),
        ({"LastName": "X", "Company": "Y", "CreatedDate": "2024-01-01T00:00:00Z"}, "INVALID_FIELD_FOR_INSERT_UPDATE",
         ["CreatedDate"]),
        ({"LastName": "X", "Company": "Y", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        ({"LastName": "X" * 81, "Company": "Y"}, "STRING_TOO_LONG", ["LastName"]),
    ],
)
def test_create_errors(sf: Salesforce, payload: dict[str, object], code: str, fields: list[str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.create(payload)
    assert caught.value.content == [
        {"message": caught.value.content[0]["message"], "errorCode": code, "fields": fields}
    ]


def test_duplicate_crmsync_id_is_duplicate_value(sf: Salesforce) -> None:
    first = sf.Contact.create({"LastName": "One", "crmsync_id__c": "cs-1"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Contact.create({"LastName": "Two", "crmsync_id__c": "CS-1"})  # external ids match case-insensitively
    assert error_code(caught.value) == "DUPLICATE_VALUE"
    assert first in caught.value.content[0]["message"]


def test_upsert_by_external_id_201_then_200(sf: Salesforce) -> None:
    created = sf.Lead.upsert("crmsync_id__c/cs-42", {"LastName": "Up", "Company": "Sert"}, raw_response=True)
    assert created.status_code == 201
    assert created.json()["created"] is True and created.json()["success"] is True
    updated = sf.Lead.upsert("crmsync_id__c/cs-42", {"Title": "Again"}, raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    record = sf.Lead.get_by_custom_id("crmsync_id__c", "cs-42")
    assert (record["Id"], record["Title"], record["crmsync_id__c"]) == (created.json()["id"], "Again", "cs-42")


def test_upsert_on_old_api_version_answers_204(make_client: Callable[..., Salesforce]) -> None:
    sf = make_client(version="45.0")
    assert sf.Lead.upsert("crmsync_id__c/old", {"LastName": "Old", "Company": "Api"}) == 201
    assert sf.Lead.upsert("crmsync_id__c/old", {"Title": "x"}) == 204


def test_upsert_matching_several_records_is_300(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "fields", json={"object": "Lead", "name": "Legacy_Id__c", "externalId": True})
    ids = [sf.Lead.create({"LastName": f"L{i}", "Company": "C", "Legacy_Id__c": "dup"})["id"] for i in range(2)]
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sf.Lead.upsert("Legacy_Id__c/dup", {"Title": "x"})
    assert caught.value.status == 300
    assert sorted(caught.value.content) == sorted(f"/services/data/v59.0/sobjects/Lead/{i}" for i in ids)


def test_upsert_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.upsert("Company/acme", {"LastName": "x"})  # not an external id field
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.upsert("crmsync_id__c/new", {"LastName": "No company"})
    assert error_code(caught.value) == "REQUIRED_FIELD_MISSING"


def test_unknown_object_and_id(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Bogus.get("00Q8d0000000001AAA")
    assert error_code(caught.value) == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.get(MISSING_LEAD_ID)


def test_describe_lists_fields_with_types_and_picklists(sf: Salesforce) -> None:
    describe = sf.Lead.describe()
    assert (describe["name"], describe["keyPrefix"]) == ("Lead", "00Q")
    fields = {field["name"]: field for field in describe["fields"]}
    assert fields["crmsync_id__c"]["externalId"] and fields["crmsync_id__c"]["custom"]
    assert fields["crmsync_id__c"]["unique"]
    assert fields["LastName"]["nillable"] is False
    assert fields["SystemModstamp"]["type"] == "datetime" and not fields["SystemModstamp"]["updateable"]
    statuses = [value["value"] for value in fields["Status"]["picklistValues"]]
    assert "Open - Not Contacted" in statuses
    assert {"Web", "Other"} <= {value["value"] for value in fields["LeadSource"]["picklistValues"]}
    task_fields = {field["name"] for field in sf.Task.describe()["fields"]}
    assert {"CallDurationInSeconds", "CallObject", "TaskSubtype", "Five9__Five9SessionId__c"} <= task_fields
    opportunity = {field["name"]: field for field in sf.Opportunity.describe()["fields"]}
    assert "Closed Won" in [value["value"] for value in opportunity["StageName"]["picklistValues"]]
    assert sf.describe()["sobjects"][0]["name"] == "Lead"


def test_task_with_five9_fields_is_queryable(sf: Salesforce) -> None:
    lead = sf.Lead.create({"LastName": "Caller", "Company": "Phone Co"})["id"]
    sf.Task.create({
        "Subject": "Inbound Call", "TaskSubtype": "Call", "Status": "Completed", "CallType": "Inbound",
        "CallDurationInSeconds": 125, "CallDisposition": "Contacted", "CallObject": "300000000000123",
        "WhoId": lead, "ActivityDate": "2024-03-01", "Five9__Five9SessionId__c": "F9-SESSION-1",
        "Five9__Five9HandleTime__c": 140,
    })
    rows = sf.query_all("SELECT Id, WhoId, CallDurationInSeconds, ActivityDate, Five9__Five9HandleTime__c FROM Task "
                        "WHERE Five9__Five9SessionId__c != null")["records"]
    assert len(rows) == 1 and rows[0]["Id"].startswith("00T")
    assert (rows[0]["WhoId"], rows[0]["CallDurationInSeconds"], rows[0]["ActivityDate"]) == (lead, 125, "2024-03-01")
    assert rows[0]["Five9__Five9HandleTime__c"] == 140.0
