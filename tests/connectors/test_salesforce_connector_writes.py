"""Write-back through composite sObject Collections: upsert on crmsync_id__c, per-row results, batching,
update-by-Id for records that came from Salesforce, and whole-request failures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from salesforce_connector_support import SalesforceOrgAdmin

from crmsync.connectors.base import TransientError, WriteItem
from crmsync.connectors.salesforce import SalesforceConnector


def _lead(index: int, **extra: object) -> WriteItem:
    return WriteItem(f"canon-{index}", {"LastName": f"Last{index}", "Company": "Acme", **extra})


def test_upsert_reports_created_then_updated_with_the_salesforce_ids(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    created = connector.write("Lead", [_lead(i) for i in range(3)])
    assert [(r.canonical_id, r.ok, r.created, r.error) for r in created] == [
        (f"canon-{i}", True, True, None) for i in range(3)
    ]
    assert all(r.external_id and r.external_id.startswith("00Q") for r in created)
    updated = connector.write("Lead", [_lead(i, Title="CTO") for i in range(3)])  # a replayed push
    assert [(r.ok, r.created, r.external_id) for r in updated] == [(True, False, r.external_id) for r in created]
    stored = {row["crmsync_id__c"]: row for row in org.records("Lead")}
    assert len(stored) == 3 and {row["Title"] for row in stored.values()} == {"CTO"}
    assert stored["canon-1"]["Id"] == created[1].external_id


def test_row_errors_are_reported_without_failing_the_batch(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    items = [_lead(1), WriteItem("canon-2", {"Company": "No Last Name"}), _lead(3, Email="not-an-email"),
             _lead(4, AnnualRevenue=Decimal("1250.50"))]
    results = connector.write("Lead", items)
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].error == "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]"
    assert results[2].error is not None and results[2].error.startswith("INVALID_EMAIL_ADDRESS: ")
    assert not results[1].retryable and not results[2].retryable and results[1].external_id is None
    assert sorted(row["crmsync_id__c"] for row in org.records("Lead")) == ["canon-1", "canon-4"]
    assert {row["crmsync_id__c"]: row["AnnualRevenue"] for row in org.records("Lead")}["canon-4"] == 1250.5


def test_large_writes_go_in_batches_of_200(org: SalesforceOrgAdmin, connector: SalesforceConnector) -> None:
    connector.connect()  # log in first, so only the writes are counted below
    sent: list[str] = []  # this connector's own requests (the org's usage counter is shared with other clients)
    connector.client.http.hooks["response"].append(
        lambda response, *_a, **_k: sent.append(f"{response.request.method} {response.request.path_url}"))
    results = connector.write("Contact", [WriteItem(f"c-{i}", {"LastName": f"L{i}"}) for i in range(450)])
    assert [call.split("/composite/")[1] for call in sent] == ["sobjects/Contact/crmsync_id__c"] * 3  # 200+200+50
    assert len(results) == 450 and all(r.ok and r.created for r in results)
    assert [r.canonical_id for r in results] == [f"c-{i}" for i in range(450)]  # input order kept


def test_a_record_from_salesforce_is_updated_by_id_not_duplicated(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    native = org.create("Lead", LastName="Native", Company="C")
    [first] = connector.write("Lead", [WriteItem("canon-native", {"Title": "VP", "Id": "ignored"}, external_id=native)])
    assert (first.ok, first.created, first.external_id) == (True, False, native)
    [again] = connector.write("Lead", [WriteItem("canon-native", {"Title": "SVP"})])  # later push, id forgotten
    assert (again.ok, again.created, again.external_id) == (True, False, native)
    [row] = org.records("Lead")
    assert (row["Id"], row["crmsync_id__c"], row["Title"]) == (native, "canon-native", "SVP")
    org.admin("DELETE", f"records/Lead/{native}")
    [gone] = connector.write("Lead", [WriteItem("canon-native", {"Title": "X"}, external_id=native)])
    assert not gone.ok and gone.error is not None and gone.error.startswith("ENTITY_IS_DELETED: ")


def test_whole_request_server_errors_are_retried_then_transient(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    org.fault(kind="server_error", path="/services/data/*/composite/sobjects/*", count=2)
    [result] = connector.write("Lead", [_lead(1)])  # two 500s, then the third attempt lands
    assert result.ok and result.created
    org.fault(kind="server_error", path="/services/data/*/composite/sobjects/*", count=3)
    with pytest.raises(TransientError, match="HTTP 500 UNKNOWN_EXCEPTION"):
        connector.write("Lead", [_lead(2)])
    assert [row["crmsync_id__c"] for row in org.records("Lead")] == ["canon-1"]


def _delete(canonical_id: str, external_id: str | None) -> WriteItem:
    return WriteItem(canonical_id, {}, external_id=external_id, delete=True)


def test_delete_writes_move_records_to_the_recycle_bin_and_a_record_already_gone_counts_as_deleted(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    ids = [r.external_id for r in connector.write("Lead", [_lead(i) for i in range(4)])]
    results = connector.write("Lead", [_delete("canon-0", ids[0]), _delete("canon-1", ids[1])])
    assert [(r.canonical_id, r.ok, r.external_id, r.error) for r in results] == [
        ("canon-0", True, ids[0], None), ("canon-1", True, ids[1], None)]
    assert {row["Id"]: row["IsDeleted"] for row in org.records("Lead", include_deleted=True)} == {
        ids[0]: True, ids[1]: True, ids[2]: False, ids[3]: False}

    org.purge(ids[1])  # emptied from the recycle bin: unknown to the org now
    again = connector.write("Lead", [_delete("canon-0", ids[0]), _delete("canon-1", ids[1]),
                                     _delete("canon-1", ids[1][:15])])
    assert [(r.ok, r.external_id, r.error) for r in again] == [
        (True, ids[0], None), (True, ids[1], None), (True, ids[1][:15], None)]  # ENTITY_IS_DELETED, ... : gone

    # No Salesforce Id known (the push's result was lost): found by the external id, or nothing to delete.
    found, never = connector.write("Lead", [_delete("canon-2", None), _delete("canon-never-pushed", None)])
    assert (found.ok, found.external_id) == (True, ids[2]) and (never.ok, never.external_id) == (True, None)
    assert [row["Id"] for row in org.records("Lead")] == [ids[3]]

    [bad] = connector.write("Lead", [_delete("canon-3", "not-an-id")])
    assert not bad.ok and not bad.retryable and not bad.held and (bad.error or "").startswith("MALFORMED_ID: ")


def test_mixed_batches_keep_input_order_and_deletes_go_200_ids_a_call(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    native = org.create("Lead", LastName="Native", Company="C")
    pushed = [r.external_id for r in connector.write("Lead", [_lead(i) for i in range(450)])]
    sent: list[str] = []
    connector.client.http.hooks["response"].append(
        lambda response, *_a, **_k: sent.append(f"{response.request.method} {response.request.path_url}"))
    items = [_lead(1000), _delete("canon-0", pushed[0]),
             WriteItem("canon-native", {"Title": "VP"}, external_id=native), _delete("canon-1", pushed[1]),
             WriteItem("canon-bad", {"Company": "No Last Name"}), *[_delete(f"canon-{i}", pushed[i])
                                                                    for i in range(2, 450)]]
    results = connector.write("Lead", items)
    assert [r.canonical_id for r in results] == [item.canonical_id for item in items]
    assert [(r.ok, r.created) for r in results[:5]] == [(True, True), (True, False), (True, False), (True, False),
                                                        (False, False)]
    assert all(r.ok and r.external_id == pushed[i] for i, r in zip(range(2, 450), results[5:], strict=True))
    deletes = [call for call in sent if call.startswith("DELETE ")]
    assert len(deletes) == 3  # 450 ids: 200 + 200 + 50
    live = {row["crmsync_id__c"] for row in org.records("Lead")}
    assert live == {"canon-1000", "canon-native"}


def test_a_duplicate_the_org_refuses_is_held_but_a_clash_on_our_own_external_id_is_not(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    org.admin("POST", "fields", json={"object": "Lead", "name": "Badge__c", "externalId": True, "unique": True})
    first, second = connector.write("Lead", [_lead(1, Badge__c="B-7"), _lead(2, Badge__c="B-7")])
    assert first.ok and not first.held
    assert (second.ok, second.held, second.retryable) == (False, True, False)
    assert (second.error or "").startswith("DUPLICATE_VALUE: ")

    native = org.create("Lead", LastName="Native", Company="C")  # claims canon-1, which another record holds
    [clash] = connector.write("Lead", [WriteItem("canon-1", {"Title": "x"}, external_id=native)])
    assert (clash.ok, clash.held) == (False, False) and (clash.error or "").startswith("DUPLICATE_VALUE: ")

    org.admin("POST", "duplicate-rules", json={"object": "Lead", "fields": ["Email"]})  # Block action
    org.create("Lead", LastName="Existing", Company="C", Email="ada@x.io")
    blocked, fine = connector.write("Lead", [_lead(3, Email="ada@x.io"), _lead(4, Email="bob@x.io")])
    assert (blocked.ok, blocked.held, fine.ok) == (False, True, True)
    assert blocked.error == "DUPLICATES_DETECTED: Use one of these records?"
