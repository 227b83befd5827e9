"""Zoho records API over raw HTTPS: fields, page/page_token paging, If-Modified-Since, sort, writes, deletes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoho_sandbox_support import ZohoSandbox

pytest_plugins = ["zoho_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten


def test_fields_are_mandatory_and_page_reaches_only_2000_records(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    zoho.seed("Leads", 3)
    missing = zoho.api("GET", "Leads", token)
    assert (missing.status_code, missing.json()["code"]) == (400, "REQUIRED_PARAM_MISSING")
    too_deep = zoho.api("GET", "Leads", token, params={"fields": "Email", "per_page": 200, "page": 11})
    assert (too_deep.status_code, too_deep.json()["code"]) == (400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
    too_wide = zoho.api("GET", "Leads", token, params={"fields": "Email", "per_page": 201})
    assert too_wide.status_code == 400


def test_page_token_pages_through_5000_records(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    zoho.seed("Leads", 5000)
    params: dict[str, object] = {"fields": "Last_Name,Modified_Time", "per_page": 200, "sort_by": "id",
                                 "sort_order": "asc", "page": 1}
    ids: list[str] = []
    while True:
        body = zoho.api("GET", "Leads", token, params=params).json()
        ids += [row["id"] for row in body["data"]]
        if not body["info"]["more_records"]:
            break
        params = {"fields": "Last_Name", "per_page": 200, "page_token": body["info"]["next_page_token"]}
    assert len(ids) == len(set(ids)) == 5000
    assert ids == sorted(ids, key=int)


def test_if_modified_since_answers_304_when_nothing_changed(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    zoho.admin("POST", "clock/set", json={"now": "2026-01-01T10:00:00Z", "freeze": True})
    zoho.seed("Leads", 5)
    zoho.advance(60)
    changed = zoho.records("Leads")[2]["id"]
    zoho.update("Leads", changed, Company="Renamed Ltd")
    since = {"If-Modified-Since": "2026-01-01T10:00:30+00:00"}
    fresh = zoho.api("GET", "Leads", token, params={"fields": "Company"}, headers=since)
    assert [row["id"] for row in fresh.json()["data"]] == [changed]
    assert fresh.json()["data"][0]["Company"] == "Renamed Ltd"
    later = zoho.api("GET", "Leads", token, params={"fields": "Company"},
                     headers={"If-Modified-Since": "2026-01-01T05:01:00-05:00"})  # = 10:01 UTC, the change itself
    assert (later.status_code, later.content) == (304, b"")
    assert zoho.api("GET", "Deals", token, params={"fields": "Deal_Name"}).status_code == 204


def test_datetimes_carry_the_org_offset_and_sort_by_modified_time(zoho: ZohoSandbox) -> None:
    token = zoho.login("in")
    zoho.admin("POST", "clock/set", json={"now": "2026-01-01T10:00:00Z", "freeze": True})
    first = zoho.create("Leads@in", Last_Name="First")
    zoho.advance(5)
    second = zoho.create("Leads@in", Last_Name="Second")
    zoho.advance(5)
    zoho.update("Leads@in", first, Company="Touched")
    body = zoho.api("GET", "Leads", token, params={"fields": "Modified_Time", "sort_by": "Modified_Time",
                                                  "sort_order": "asc"}).json()
    assert [row["id"] for row in body["data"]] == [second, first]
    assert body["data"][1]["Modified_Time"] == "2026-01-01T15:30:10+05:30"


def test_upsert_answers_success_and_error_rows_together(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    existing = zoho.create("Leads", Last_Name="Known", crmsync_id="c-1")
    body = {"data": [{"Last_Name": "Known again", "crmsync_id": "c-1"}, {"Last_Name": "Bad", "Email": "no-at"},
                     {"First_Name": "No last name", "crmsync_id": "c-3"}, {"Last_Name": "New", "crmsync_id": "c-4"}],
            "duplicate_check_fields": ["crmsync_id"]}
    response = zoho.api("POST", "Leads/upsert", token, json=body)
    rows = response.json()["data"]
    assert response.status_code == 207
    assert [row["status"] for row in rows] == ["success", "error", "error", "success"]
    assert (rows[0]["action"], rows[0]["duplicate_field"], rows[0]["details"]["id"]) == ("update", "crmsync_id",
                                                                                        existing)
    assert (rows[1]["code"], rows[1]["details"]["api_name"]) == ("INVALID_DATA", "Email")
    assert (rows[2]["code"], rows[2]["details"]["json_path"]) == ("MANDATORY_NOT_FOUND", "$.data[2].Last_Name")
    assert (rows[3]["action"], rows[3]["message"]) == ("insert", "record added")
    assert {row["Last_Name"] for row in zoho.records("Leads")} == {"Known again", "New"}


def test_insert_rejects_duplicates_of_unique_fields(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    response = zoho.api("POST", "Accounts", token, json={"data": [{"Account_Name": "Acme"}, {"Account_Name": "acme"}]})
    assert response.status_code == 207
    assert response.json()["data"][1]["code"] == "DUPLICATE_DATA"
    all_good = zoho.api("POST", "Accounts", token, json={"data": [{"Account_Name": "Globex"}]})
    assert (all_good.status_code, all_good.json()["data"][0]["code"]) == (201, "SUCCESS")


def test_deleted_records_are_listed_from_the_recycle_bin(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    keep, drop = zoho.create("Contacts", Last_Name="Keep"), zoho.create("Contacts", Last_Name="Drop")
    answer = zoho.api("DELETE", "Contacts", token, params={"ids": f"{drop},999"}).json()["data"]
    assert [row["status"] for row in answer] == ["success", "error"]
    deleted = zoho.api("GET", "Contacts/deleted", token, params={"type": "all"}).json()["data"]
    assert [(row["id"], row["display_name"], row["type"]) for row in deleted] == [(drop, "Drop", "recycle")]
    assert [row["id"] for row in zoho.records("Contacts")] == [keep]
    none_since = zoho.api("GET", "Contacts/deleted", token, headers={"If-Modified-Since": "2999-01-01T00:00:00Z"})
    assert none_since.status_code == 304


def test_purge_leaves_no_trace_in_records_or_the_recycle_bin(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    live, binned, keep = (zoho.create("Leads", Last_Name=name) for name in ("Live", "Binned", "Keep"))
    zoho.delete("Leads", binned)
    for record_id in (live, binned):
        zoho.admin("POST", "zoho/purge", json={"module": "Leads", "id": record_id})
    listed = zoho.api("GET", "Leads", token, params={"fields": "id"}).json()["data"]
    assert [row["id"] for row in listed] == [keep]
    assert zoho.api("GET", "Leads/deleted", token, params={"type": "all"}).status_code == 204
    again = zoho.http.post(f"{zoho.base_url}/__sandbox/zoho/purge", json={"module": "Leads", "id": live})
    assert again.status_code == 404


def test_picklist_values_outside_the_list_are_stored_as_given(zoho: ZohoSandbox) -> None:
    # Zoho's API does not refuse them (its SDKs check picklists client-side, `pick_list_validation`); unique
    # and mandatory fields are what it enforces.
    token = zoho.login()
    answer = zoho.api("POST", "Leads", token, json={"data": [{"Last_Name": "Pick", "Lead_Status": "Someday"}]})
    assert answer.json()["data"][0]["code"] == "SUCCESS"
    assert [row["Lead_Status"] for row in zoho.records("Leads")] == ["Someday"]
