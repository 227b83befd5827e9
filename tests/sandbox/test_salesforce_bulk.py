"""Bulk API 2.0 query jobs through `sf.bulk2`, plus the raw wire shape the SDK depends on."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceOperationError, SalesforceRefusedRequest


def test_bulk2_query_reads_every_locator_page(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "seed", json={"object": "Lead", "count": 2500, "seed": 3})
    pages = list(sf.bulk2.Lead.query("SELECT Id, Email, CreatedDate FROM Lead", max_records=1000, wait=0))
    assert len(pages) == 3
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    assert len(rows) == 2500 and len({row["Id"] for row in rows}) == 2500
    assert list(rows[0]) == ["Id", "Email", "CreatedDate"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rows[0]["CreatedDate"])


def test_bulk2_wire_shape(sandbox: SalesforceSandbox) -> None:
    token = sandbox.login()["access_token"]
    for name in ("Bulk One", 'Quote "Two"'):
        sandbox.admin("POST", "records/Lead", json={"LastName": name, "Company": "C"})
    created = sandbox.rest("POST", "jobs/query", token, headers={"Accept": "text/csv; charset=UTF-8"},
                           json={"operation": "query", "query": "SELECT LastName, Title FROM Lead ORDER BY LastName"})
    assert created.status_code == 200 and created.headers["content-type"].startswith("application/json")
    job = created.json()
    assert job["id"].startswith("750") and job["state"] == "UploadComplete" and job["object"] == "Lead"
    assert job["createdDate"].endswith("+0000") and job["apiVersion"] == 59.0
    states = [sandbox.rest("GET", f"jobs/query/{job['id']}", token).json()["state"] for _ in range(3)]
    assert states == ["InProgress", "JobComplete", "JobComplete"]

    first = sandbox.rest("GET", f"jobs/query/{job['id']}/results", token, params={"maxRecords": 1})
    assert first.headers["content-type"].startswith("text/csv")
    assert first.headers["Sforce-NumberOfRecords"] == "1"
    assert first.text == '"LastName","Title"\n"Bulk One",\n'  # every value quoted, null left empty
    last = sandbox.rest("GET", f"jobs/query/{job['id']}/results", token,
                        params={"maxRecords": 1, "locator": first.headers["Sforce-Locator"]})
    assert last.headers["Sforce-Locator"] == "null" and last.headers["Sforce-NumberOfRecords"] == "1"
    assert last.text == '"LastName","Title"\n"Quote ""Two""",\n'

    assert sandbox.rest("DELETE", f"jobs/query/{job['id']}", token).status_code == 204
    assert sandbox.rest("GET", f"jobs/query/{job['id']}", token).status_code == 404


def test_abort_and_query_all(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    lead = sf.Lead.create({"LastName": "Gone", "Company": "C"})["id"]
    sf.Lead.delete(lead)
    assert "Gone" in "".join(sf.bulk2.Lead.query_all("SELECT LastName, IsDeleted FROM Lead", wait=0))
    assert "Gone" not in "".join(sf.bulk2.Lead.query("SELECT LastName FROM Lead", wait=0))
    job = sf.bulk2.Lead._client.create_job("query", "SELECT Id FROM Lead")
    assert sf.bulk2.Lead._client.abort_job(job["id"], True)["state"] == "Aborted"


def test_bulk_query_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        list(sf.bulk2.Lead.query("SELECT Bogus FROM Lead", wait=0))
    assert error_code(caught.value) == "INVALID_FIELD"


def test_bulk_can_be_made_unavailable_for_rest_fallback(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("PUT", "bulk", json={"mode": "disabled"})
    with pytest.raises(SalesforceRefusedRequest) as refused:
        list(sf.bulk2.Lead.query("SELECT Id FROM Lead", wait=0))
    assert error_code(refused.value) == "API_DISABLED_FOR_ORG"
    sandbox.admin("PUT", "bulk", json={"mode": "job_fails"})
    with pytest.raises(SalesforceOperationError, match="Job failure"):
        list(sf.bulk2.Lead.query("SELECT Id FROM Lead", wait=0))
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0  # REST still answers
