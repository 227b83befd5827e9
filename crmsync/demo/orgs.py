"""The demo's sandbox systems: a Salesforce org, a HubSpot portal and a Zoho org holding overlapping people.

The bundled people are created as each system's users would, each at its own time on that system's sandbox
clock; then every clock is set to now, so everything the demo does afterwards happens after them.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmsync.errors import CrmsyncError
from crmsync.sandbox import SandboxEndpoint, SandboxRunner

DATA_DIR = Path(__file__).resolve().parent / "data"
SYSTEMS = ("salesforce", "hubspot", "zoho")
# What each system's people are, how the demo connects to it, and what a person's e-mail is called there.
OBJECTS = {"salesforce": "Lead", "hubspot": "contacts", "zoho": "Leads"}
EMAIL_FIELD = {"salesforce": "Email", "hubspot": "email", "zoho": "Email"}
TITLE_FIELD = {"salesforce": "Title", "hubspot": "jobtitle", "zoho": "Designation"}


class DemoSystems:
    def __init__(self) -> None:
        self._stack = ExitStack()
        self.endpoints: dict[str, SandboxEndpoint] = {}

    def __enter__(self) -> DemoSystems:
        try:
            runner = self._stack.enter_context(SandboxRunner(list(SYSTEMS)))
            self.endpoints = {name: runner.endpoints[name] for name in SYSTEMS}
            # The admins add the custom fields the demo people use, as they would in each product.
            self.admin("salesforce", "POST", "fields", {"object": "Lead", "name": "Rating__c", "label": "Rating"})
            self.admin("hubspot", "POST", "properties/contacts", {"name": "crm_tags", "label": "Tags",
                                                                  "type": "string", "fieldType": "text"})
            for system in SYSTEMS:
                self._populate(system)
                self.admin(system, "POST", "clock/set", {"now": datetime.now(UTC).isoformat(), "freeze": False})
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

    def connections(self) -> list[dict[str, Any]]:
        """crmsync.yaml `connections:` entries for the three systems (sandbox credentials, its CA)."""
        def entry(system: str, credentials: dict[str, Any], base_url: str, options: dict[str, Any]) -> dict[str, Any]:
            endpoint = self.endpoints[system]
            return {"name": system, "system": system, "base_url": base_url, "ca_bundle": endpoint.ca_bundle,
                    "credentials": credentials, "objects": {OBJECTS[system]: "both"}, "options": options}

        sf, hs, zoho = (self.endpoints[s].credentials for s in SYSTEMS)
        return [
            entry("salesforce", {k: sf[k] for k in ("client_id", "client_secret", "username", "password")},
                  self.endpoints["salesforce"].base_url, {"lookback_seconds": 0}),
            entry("hubspot", {"access_token": hs["private_app_token"], "client_secret": hs["client_secret"]},
                  self.endpoints["hubspot"].base_url, {}),
            entry("zoho", {k: zoho[k] for k in ("client_id", "client_secret", "refresh_token")}, zoho["accounts_url"],
                  {}),
        ]
