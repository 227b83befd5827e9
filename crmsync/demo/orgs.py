"""The demo's two sandbox Salesforce orgs: `salesforce` holds the bundled people, `salesforce-emea` starts empty.

The people are created as the org's users would, each at its own time on the sandbox clock; then both
clocks are set to now, so everything the demo does afterwards happens after them.
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
ORG_NAMES = ("salesforce", "salesforce-emea")


class DemoOrgs:
    def __init__(self) -> None:
        self._stack = ExitStack()
        self.endpoints: dict[str, SandboxEndpoint] = {}

    def __enter__(self) -> DemoOrgs:
        try:
            for name in ORG_NAMES:
                runner = self._stack.enter_context(SandboxRunner(["salesforce"]))
                self.endpoints[name] = runner.endpoints["salesforce"]
                self.admin(name, "POST", "fields", {"object": "Lead", "name": "Rating__c", "label": "Rating"})
            for item in json.loads((DATA_DIR / "salesforce.json").read_text(encoding="utf-8")):
                moment = datetime.fromisoformat(item["modified_at"]).isoformat()
                self.admin("salesforce", "POST", "clock/set", {"now": moment, "freeze": True})
                self.admin("salesforce", "POST", f"records/{item['object']}",
                           {k: v for k, v in item["record"].items() if k != "Id"})
            for name in ORG_NAMES:
                self.admin(name, "POST", "clock/set", {"now": datetime.now(UTC).isoformat(), "freeze": False})
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self._stack.close()

    def admin(self, org: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The sandbox admin API: acts as a user or the admin of the org."""
        endpoint = self.endpoints[org]
        with endpoint.requests_session() as http:
            response = http.request(method, f"{endpoint.base_url}/__sandbox/{path}", json=body)
        if response.status_code >= 300:
            raise CrmsyncError(f"the demo's sandbox org {org} refused {path}: {response.text[:300]}")
        return response.json() if response.content else None

    def leads(self, org: str) -> list[dict[str, Any]]:
        return list(self.admin(org, "GET", "records/Lead"))

    def lead(self, org: str, email: str) -> dict[str, Any] | None:
        return next((r for r in self.leads(org) if (r.get("Email") or "").lower() == email), None)

    def connections(self) -> list[dict[str, Any]]:
        """crmsync.yaml `connections:` entries for both orgs (sandbox credentials, its CA)."""
        entries = []
        for name, endpoint in self.endpoints.items():
            credentials = endpoint.credentials
            entries.append({
                "name": name, "system": "salesforce", "base_url": endpoint.base_url, "ca_bundle": endpoint.ca_bundle,
                "credentials": {k: credentials[k] for k in ("client_id", "client_secret", "username", "password")},
                "objects": {"Lead": "both"}, "options": {"lookback_seconds": 0},
            })
        return entries
