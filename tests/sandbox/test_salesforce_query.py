"""REST query/queryAll through simple-salesforce: paging, locators, SOQL over the wire, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

BATCH_HEADER = {"Sforce-Query-Options": "batchSize=200"}


def test_paging_with_batch_size_keeps_total_size_on_every_page(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "seed", json={"object": "Lead", "count": 450, "seed": 1})
    first = sf.query("SELECT Id, Email FROM Lead ORDER BY Id", headers=BATCH_HEADER)
    assert (first["totalSize"], first["done"], len(first["records"])) == (450, False, 200)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=BATCH_HEADER)
    assert (second["totalSize"], second["done"], len(second["records"])) == (450, False, 200)
    locator = second["nextRecordsUrl"].rsplit("/", 1)[1]
    last = sf.query_more(locator, headers=BATCH_HEADER)  # by locator id: /query/<locator>
    assert (last["totalSize"], last["done"], len(last["records"])) == (450, True, 50)
    assert "nextRecordsUrl" not in last
    ids = [r["Id"] for page in (first, second, last) for r in page["records"]]
    assert ids == sorted(ids) and len(set(ids)) == 450


def test_default_page_is_2000_and_query_all_iter_reads_everything(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "seed", json={"object": "Lead", "count": 4500})
    first = sf.query("SELECT Id FROM Lead")
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].endswith("-2000")
    assert sum(1 for _ in sf.query_all_iter("SELECT Id, Name FROM Lead")) == 4500


def test_unknown_locator_is_invalid_query_locator(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("01gXXXXXXXXXXXXXXX-2000")
    assert error_code(caught.value) == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Lead WHERE Name = 'a' AND Email = 'b' OR Phone = 'c'", "MALFORMED_QUERY"),
        ("SELECT Bogus__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Bogus__c", "INVALID_TYPE"),
    ],
)
def test_query_errors_are_400_with_error_code(sf: Salesforce, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query(soql)
    assert caught.value.status == 400
    assert error_code(caught.value) == code


def test_soql_over_the_wire(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "clock/set", json={"now": "2024-01-01T10:00:00Z", "freeze": True})
    sf.Lead.create({"LastName": "O'Hara", "Company": "Tab\tCo", "Email": "o@x.io", "Status": "Working - Contacted"})
    sandbox.admin("POST", "clock/advance", json={"seconds": 3600})
    sf.Lead.create({"LastName": "Later", "Company": "Back\\slash", "Email": "l@x.io"})
    rows = sf.query_all(
        "SELECT LastName, Company, CreatedDate FROM Lead WHERE LastName = 'O\\'Hara' AND Company = 'Tab\\tCo'"
    )["records"]
    assert [(r["LastName"], r["CreatedDate"]) for r in rows] == [("O'Hara", "2024-01-01T10:00:00.000+0000")]
    after = "SELECT LastName FROM Lead WHERE CreatedDate > 2024-01-01T15:30:00+05:30"  # = 10:00Z, strict
    assert [r["LastName"] for r in sf.query_all(after)["records"]] == ["Later"]
    ordered = sf.query_all("SELECT LastName FROM Lead WHERE Company LIKE '%\\\\%' OR Status IN ('Working - Contacted') "
                           "ORDER BY CreatedDate DESC")
    assert [r["LastName"] for r in ordered["records"]] == ["Later", "O'Hara"]
    assert sf.query("SELECT COUNT() FROM Lead WHERE Email LIKE '%@x.io'") == {
        "totalSize": 2, "done": True, "records": []
    }


def test_records_sharing_one_system_modstamp_are_all_seen_with_inclusive_watermark(
    sandbox: SalesforceSandbox, sf: Salesforce
) -> None:
    sandbox.admin("POST", "clock/set", json={"now": "2024-05-01T00:00:00Z", "freeze": True})
    created = [sf.Lead.create({"LastName": f"Tie{i}", "Company": "Same ms"})["id"] for i in range(3)]
    rows = sf.query_all("SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id")["records"]
    assert {r["SystemModstamp"] for r in rows} == {"2024-05-01T00:00:00.000+0000"}
    watermark = "2024-05-01T00:00:00.000+0000"
    inclusive = sf.query_all(f"SELECT Id FROM Lead WHERE SystemModstamp >= {watermark} ORDER BY SystemModstamp, Id")
    assert [r["Id"] for r in inclusive["records"]] == sorted(created)
    assert sf.query(f"SELECT Id FROM Lead WHERE SystemModstamp > {watermark}")["totalSize"] == 0


def test_query_all_includes_deleted_rows_and_query_does_not(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    keep = sf.Lead.create({"LastName": "Keep", "Company": "A"})["id"]
    gone = sf.Lead.create({"LastName": "Gone", "Company": "A"})["id"]
    before = datetime.now(UTC)
    sf.Lead.delete(gone)
    assert [r["Id"] for r in sf.query_all("SELECT Id FROM Lead")["records"]] == [keep]
    rows = sf.query_all("SELECT Id, IsDeleted, SystemModstamp FROM Lead ORDER BY Id", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(keep, False), (gone, True)]
    deleted_stamp = datetime.strptime(rows[1]["SystemModstamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert deleted_stamp >= before.replace(microsecond=before.microsecond // 1000 * 1000)
    deletes = sf.query_all("SELECT Id FROM Lead WHERE IsDeleted = true", include_deleted=True)
    assert [r["Id"] for r in deletes["records"]] == [gone]


def test_parent_relationship_in_query(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Acme"})["id"]
    sf.Contact.create({"LastName": "With", "AccountId": account})
    sf.Contact.create({"LastName": "Without"})
    rows = sf.query_all("SELECT LastName, Account.Name FROM Contact ORDER BY LastName")["records"]
    assert rows[0]["Account"]["Name"] == "Acme"
    assert rows[0]["Account"]["attributes"]["type"] == "Account"
    assert rows[1]["Account"] is None
