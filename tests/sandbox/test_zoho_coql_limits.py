"""COQL, API credits (429 with Zoho's body and credits headers), faults, and the SDK-facing metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoho_sandbox_support import ZohoSandbox

pytest_plugins = ["zoho_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten


def test_coql_filters_orders_and_pages_with_limit_offset(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    zoho.admin("POST", "clock/set", json={"now": "2026-03-01T08:00:00Z", "freeze": True})
    ids = [zoho.create("Leads", Last_Name=f"L{i}", Company="Acme" if i % 2 else "Other") for i in range(6)]
    zoho.advance(10)
    zoho.update("Leads", ids[0], Company="Acme")
    query = ("select Last_Name, Company from Leads where Modified_Time >= '2026-03-01T08:00:00+00:00' "
             "and (Company = 'acme' or Last_Name like 'L4%') order by Modified_Time desc, id asc limit 1, 2")
    body = zoho.api("POST", "coql", token, json={"select_query": query}).json()
    assert [row["id"] for row in body["data"]] == [ids[1], ids[3]]  # ids[0] is first (latest), skipped by offset
    assert body["info"] == {"count": 2, "more_records": True}
    keyset = (f"select Last_Name from Leads where (Modified_Time = '2026-03-01T08:00:00+00:00' and id > {ids[3]}) "
              "order by id asc limit 10")
    assert [row["id"] for row in zoho.api("POST", "coql", token, json={"select_query": keyset}).json()["data"]] \
        == ids[4:]


def test_coql_errors_and_credits_by_limit(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    bad = zoho.api("POST", "coql", token, json={"select_query": "select from Leads"})
    assert (bad.status_code, bad.json()["code"]) == (400, "SYNTAX_ERROR")
    unknown = zoho.api("POST", "coql", token, json={"select_query": "select Nope from Leads"})
    assert unknown.json()["code"] == "INVALID_QUERY"
    too_many = zoho.api("POST", "coql", token, json={"select_query": "select Email from Leads limit 2001"})
    assert too_many.json()["code"] == "LIMIT_EXCEEDED"
    before = zoho.admin("GET", "zoho/usage")["used"]
    empty = zoho.api("POST", "coql", token, json={"select_query": "select Email from Leads limit 2000"})
    assert empty.status_code == 204
    assert zoho.admin("GET", "zoho/usage")["used"] - before == 3


def test_spent_credits_answer_429_with_headers(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    zoho.admin("PUT", "quota", json={"daily_limit": 100, "used": 98})
    ok = zoho.api("GET", "Leads", token, params={"fields": "Email"})
    assert (ok.headers["X-RATELIMIT-LIMIT"], ok.headers["X-RATELIMIT-REMAINING"]) == ("100", "1")
    zoho.api("GET", "Leads", token, params={"fields": "Email"})
    spent = zoho.api("GET", "Leads", token, params={"fields": "Email"})
    assert spent.status_code == 429
    assert (spent.json()["code"], spent.json()["status"], spent.headers["X-RATELIMIT-REMAINING"]) == (
        "TOO_MANY_REQUESTS", "error", "0")
    zoho.advance(86_400)  # the rolling day is over (and so is the token)
    assert zoho.api("GET", "Leads", zoho.login(), params={"fields": "Email"}).status_code == 204


def test_metadata_the_sdk_reads(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    fields = {f["api_name"]: f for f in zoho.api("GET", "settings/fields", token,
                                                 params={"module": "Contacts"}).json()["fields"]}
    assert fields["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    assert (fields["Last_Name"]["system_mandatory"], fields["Modified_Time"]["json_type"]) == (True, "string")
    assert zoho.api("GET", "users", token, params={"type": "CurrentUser"}).json()["users"][0]["status"] == "active"
    assert zoho.api("GET", "org", token).json()["org"][0]["time_zone"] == "America/Bogota"
