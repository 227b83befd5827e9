"""Zoho's multi-module lookup on Calls: What_Id ("Related To") with `$se_module` naming the module it points into
(Leads, Accounts, Deals), checked on write and returned side by side on read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoho_sandbox_support import ZohoSandbox

pytest_plugins = ["zoho_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten
CALL = {"Subject": "Inbound Call", "Call_Type": "Inbound", "Call_Start_Time": "2024-05-01T17:00:00+00:00"}


def write(zoho: ZohoSandbox, token: dict[str, Any], method: str, path: str, row: dict[str, Any]) -> dict[str, Any]:
    response = zoho.api(method, path, token, json={"data": [row]})
    return dict(response.json()["data"][0])


def test_a_call_relates_to_a_lead_or_a_deal_through_what_id_and_se_module(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    lead = zoho.create("Leads", Last_Name="Lovelace", Email="ada@analytical.example")
    deal = zoho.create("Deals", Deal_Name="Engines", Stage="Qualification")
    created = write(zoho, token, "POST", "Calls", {**CALL, "What_Id": {"id": lead}, "$se_module": "Leads"})
    assert created["status"] == "success", created
    call = created["details"]["id"]
    read = zoho.api("GET", f"Calls/{call}", token, params={"fields": "Subject,What_Id"}).json()["data"][0]
    assert (read["What_Id"], read["$se_module"]) == ({"name": "Lovelace", "id": lead}, "Leads")

    moved = write(zoho, token, "PUT", f"Calls/{call}", {"What_Id": {"id": deal}, "$se_module": "Deals"})
    assert moved["status"] == "success", moved
    (listed,) = zoho.api("GET", "Calls", token, params={"fields": "What_Id,Who_Id"}).json()["data"]
    assert (listed["What_Id"], listed["$se_module"], listed["Who_Id"]) == ({"name": "Engines", "id": deal},
                                                                            "Deals", None)
    described = zoho.api("GET", "settings/fields", token, params={"module": "Calls"}).json()["fields"]
    what = next(field for field in described if field["api_name"] == "What_Id")
    assert what["data_type"] == "lookup"
    assert [module["api_name"] for module in what["lookup"]["modules"]] == ["Leads", "Accounts", "Deals"]


def test_what_id_needs_a_se_module_that_holds_the_record(zoho: ZohoSandbox) -> None:
    token = zoho.login()
    lead = zoho.create("Leads", Last_Name="Lovelace")
    for row, blamed in (({"What_Id": {"id": lead}}, "$se_module"),
                        ({"What_Id": {"id": lead}, "$se_module": "Contacts"}, "$se_module"),
                        ({"What_Id": {"id": lead}, "$se_module": "Deals"}, "What_Id")):
        answer = write(zoho, token, "POST", "Calls", {**CALL, **row})
        assert (answer["status"], answer["code"], answer["details"]["api_name"]) == ("error", "INVALID_DATA",
                                                                                   blamed), row
    assert zoho.records("Calls") == []
