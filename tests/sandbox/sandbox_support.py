"""Helpers shared by the sandbox tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from crmsync.sandbox import SandboxEndpoint

API_VERSION = "59.0"
@dataclass
class SalesforceSandbox:
    """The running emulator plus helpers for its admin API and for SDK clients."""

    endpoint: SandboxEndpoint
    http: requests.Session

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/__sandbox/{path}", **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def token(self, grant_type: str = "password", **form: str) -> requests.Response:
        credentials = self.endpoint.credentials
        if grant_type == "password" and not form:
            form = {key: credentials[key] for key in ("client_id", "client_secret", "username", "password")}
        return self.http.post(f"{self.base_url}/services/oauth2/token", data={"grant_type": grant_type, **form})

    def login(self) -> dict[str, str]:
        response = self.token()
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def rest(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        """A raw REST call, for asserting on status codes and headers the SDK hides."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        url = f"{self.base_url}/services/data/v{API_VERSION}/{path}"
        return self.http.request(method, url, headers=headers, **kwargs)


def error_code(exc: BaseException) -> str:
    """The first errorCode of a simple-salesforce exception's JSON array body."""
    content = exc.content  # type: ignore[attr-defined]
    return str(content[0]["errorCode"])
