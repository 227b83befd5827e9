"""The demo's sandbox systems: a Salesforce org, a HubSpot portal and a Zoho org holding overlapping people
(and one Salesforce Opportunity), plus a Stripe account and a Five9 domain, empty until the demo uses them.

The bundled records are created as each system's users would, each at its own time on that system's sandbox
clock; then every clock is set to now (`live_from`), so everything the demo does afterwards happens after them.
Each later step of the demo moves every clock on by a few seconds first (`next_step`), so a step's changes are
always later than the previous step's, also for systems whose timestamps have whole seconds only: the merge
(latest wins) then decides the same way on every run.
"""

from __future__ import annotations

import json
import secrets
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmsync.errors import CrmsyncError
from crmsync.sandbox import SandboxEndpoint, SandboxRunner

DATA_DIR = Path(__file__).resolve().parent / "data"
SYSTEMS = ("salesforce", "hubspot", "zoho")  # the CRMs
PROVIDERS = ("stripe", "five9")  # payments and the contact center: read only
FIVE9_TIME_ZONE = "America/Los_Angeles"  # the Five9 domain's; its web connectors send local times
# The demo reads HubSpot's contacts, deals and calls back to back, faster than its search limit (5 a second): the
# connector would wait and retry (tested elsewhere), which here only adds pauses and notices.
EMULATOR_OPTIONS = {"hubspot": {"search_per_second": 50}, "five9": {"time_zone": FIVE9_TIME_ZONE}}
# What each system's people are, how the demo connects to it, and what a person's e-mail is called there.
OBJECTS = {"salesforce": "Lead", "hubspot": "contacts", "zoho": "Leads"}
SYNCED = {"salesforce": {"Lead": "both", "Opportunity": "both", "Task": "both"},
          "hubspot": {"contacts": "both", "deals": "both", "calls": "both"},
          "zoho": {"Leads": "both", "Deals": "both", "Calls": "both"},
          "stripe": {"customers": "pull", "payment_intents": "pull"},
          "five9": {"calls": "pull"}}
EMAIL_FIELD = {"salesforce": "Email", "hubspot": "email", "zoho": "Email"}
STEP_SECONDS = 5  # how far every sandbox clock moves on between demo steps (HubSpot signatures allow 5 minutes)
TITLE_FIELD = {"salesforce": "Title", "hubspot": "jobtitle", "zoho": "Designation"}


class DemoSystems:
    def __init__(self) -> None:
        self._stack = ExitStack()
        self.endpoints: dict[str, SandboxEndpoint] = {}
        # The constant a Five9 admin adds to a web connector so that crmsync's receiver can tell it is genuine.
        self.web_connector_secret = secrets.token_urlsafe(18)
        # The token Zoho echoes in each notification, so that the receiver can tell it is genuine.
        self.zoho_notification_token = secrets.token_urlsafe(18)
        self.live_from = datetime.now(UTC)  # the sandboxes' time when the demo's own steps begin

    def __enter__(self) -> DemoSystems:
        try:
            runner = self._stack.enter_context(SandboxRunner([*SYSTEMS, *PROVIDERS], options=EMULATOR_OPTIONS))
            self.endpoints = dict(runner.endpoints)
            # The admins add the custom fields the demo people use, as they would in each product.
            self.admin("salesforce", "POST", "fields", {"object": "Lead", "name": "Rating__c", "label": "Rating"})
            self.admin("hubspot", "POST", "properties/contacts", {"name": "crm_tags", "label": "Tags",
                                                                  "type": "string", "fieldType": "text"})
            for system in SYSTEMS:
                self._populate(system)
            self.live_from = datetime.now(UTC)
            for system in self.endpoints:
                self.admin(system, "POST", "clock/set", {"now": self.live_from.isoformat(), "freeze": False})
        except BaseException:
            self._stack.close()
            raise
        return self

    def _populate(self, system: str) -> None:
        for item in json.loads((DATA_DIR / f"{system}.json").read_text(encoding="utf-8")):
            moment = datetime.fromisoformat(item["modified_at"].replace("Z", "+00:00")).isoformat()
            self.admin(system, "POST", "clock/set", {"now": moment, "freeze": True})
            record = item["record"]
            fields = record["properties"] if system == "hubspot" else {
                k: v for k, v in record.items() if k not in ("Id", "id", "Modified_Time")}
            self.admin(system, "POST", f"records/{item['object']}", fields)

    def __exit__(self, *_: object) -> None:
        self._stack.close()

    def next_step(self) -> None:
        """Move every sandbox clock on by STEP_SECONDS (see the module docstring)."""
        for system in self.endpoints:
            self.admin(system, "POST", "clock/advance", {"seconds": STEP_SECONDS})

    def admin(self, system: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The sandbox admin API: acts as a user or the admin of the system."""
        endpoint = self.endpoints[system]
        with endpoint.requests_session() as http:
            response = http.request(method, f"{endpoint.base_url}/__sandbox/{path}", json=body)
        if response.status_code >= 300:
            raise CrmsyncError(f"the demo's sandbox {system} refused {path}: {response.text[:300]}")
        return response.json() if response.content else None

    def person(self, system: str, email: str) -> dict[str, Any] | None:
        """The system's record of the person with this e-mail (HubSpot's properties), or None."""
        for row in self.admin(system, "GET", f"records/{OBJECTS[system]}"):
            fields = row.get("properties", row) if system == "hubspot" else row
            if (fields.get(EMAIL_FIELD[system]) or "").lower() == email:
                return {"id": row.get("Id") or row.get("id"), **fields}
        return None

    def title(self, system: str, email: str) -> str | None:
        found = self.person(system, email)
        return found.get(TITLE_FIELD[system]) if found else None

    def edit_title(self, system: str, email: str, title: str) -> None:
        found = self.person(system, email)
        if found is None:
            raise CrmsyncError(f"the demo has no {email} in {system}")
        self.admin(system, "PATCH", f"records/{OBJECTS[system]}/{found['id']}", {TITLE_FIELD[system]: title})

    def deal_stage(self, system: str, name: str) -> str | None:
        """The stage of the deal with this name, as the CRM's users see it."""
        if system == "hubspot":
            found = {r["properties"].get("dealname"): r["properties"].get("dealstage")
                     for r in self.admin(system, "GET", "records/deals")}
        else:
            deal, name_field, stage_field = (("Opportunity", "Name", "StageName") if system == "salesforce"
                                             else ("Deals", "Deal_Name", "Stage"))
            found = {r.get(name_field): r.get(stage_field) for r in self.admin(system, "GET", f"records/{deal}")}
        return found.get(name)

    def calls_on(self, system: str, email: str) -> list[tuple[str, str]]:
        """(call record, how it points at the person) for every call the CRM holds on the person with this e-mail."""
        person = self.person(system, email)
        if person is None:
            return []
        who = str(person["id"])
        if system == "salesforce":
            return [(f"Task {t['Id']}", f"WhoId = Lead {who}")
                    for t in self.admin(system, "GET", "records/Task") if t.get("WhoId") == who]
        if system == "zoho":
            return [(f"Call {c['id']}", f"What_Id = Leads {who}") for c in self.admin(system, "GET", "records/Calls")
                    if (c.get("What_Id") or {}).get("id") == who and c.get("$se_module") == "Leads"]
        return [(f"call {c['id']}", f"associated to contact {who}") for c in self.admin(system, "GET", "records/calls")
                if who in self._hubspot_contacts_of_call(str(c["id"]))]

    def _hubspot_contacts_of_call(self, call_id: str) -> list[str]:
        """Associations are not on HubSpot's records: ask its v4 API, as an integration would."""
        endpoint = self.endpoints["hubspot"]
        with endpoint.requests_session() as http:
            response = http.get(f"{endpoint.base_url}/crm/v4/objects/calls/{call_id}/associations/contacts",
                                headers={"Authorization": f"Bearer {endpoint.credentials['private_app_token']}"})
        if response.status_code != 200:
            raise CrmsyncError(f"the demo's sandbox hubspot refused call {call_id}'s associations: "
                               f"{response.text[:300]}")
        return [str(link["toObjectId"]) for link in response.json()["results"]]

    def connections(self, receiver_url: str | None = None) -> list[dict[str, Any]]:
        """crmsync.yaml `connections:` entries for every system (sandbox credentials, its CA). With the
        receiver's URL, Zoho notifications are set up too (they are subscribed when the receiver starts)."""
        def entry(system: str, credentials: dict[str, Any], base_url: str, options: dict[str, Any]) -> dict[str, Any]:
            endpoint = self.endpoints[system]
            return {"name": system, "system": system, "base_url": base_url, "ca_bundle": endpoint.ca_bundle,
                    "credentials": credentials, "objects": SYNCED[system], "options": options}

        sf, hs, zoho, stripe, five9 = (self.endpoints[s].credentials for s in (*SYSTEMS, *PROVIDERS))
        return [
            entry("salesforce", {k: sf[k] for k in ("client_id", "client_secret", "username", "password")},
                  self.endpoints["salesforce"].base_url, {"lookback_seconds": 0}),
            entry("hubspot", {"access_token": hs["private_app_token"], "client_secret": hs["client_secret"]},
                  self.endpoints["hubspot"].base_url, {}),
            entry("zoho", {**{k: zoho[k] for k in ("client_id", "client_secret", "refresh_token")},
                           **({"notification_token": self.zoho_notification_token} if receiver_url else {})},
                  zoho["accounts_url"], {"notify_url": f"{receiver_url}/webhooks/zoho"} if receiver_url else {}),
            entry("stripe", {"api_key": stripe["api_key"]}, self.endpoints["stripe"].base_url, {}),
            entry("five9", {"username": five9["username"], "password": five9["password"],
                            "web_connector_secret": self.web_connector_secret},
                  self.endpoints["five9"].base_url, {"time_zone": FIVE9_TIME_ZONE}),
        ]
