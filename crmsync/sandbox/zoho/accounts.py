"""Zoho Accounts: the per-data-centre token endpoint and the access tokens it has issued.

`POST {accounts}/oauth/v2/token` with `grant_type=refresh_token` (or `authorization_code`) answers, like
Zoho, HTTP 200 either way: a token body with `api_domain`, or `{"error": "invalid_code"}`. A refresh token
belongs to one data centre; the access token works only on that data centre's `api_domain`, for an hour of
sandbox time by default.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crmsync.sandbox.framework.clock import SandboxClock

DEFAULT_TOKEN_LIFETIME_SECONDS = 3600
SCOPE = "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.users.READ ZohoCRM.org.READ ZohoCRM.coql.READ " \
        "ZohoCRM.notifications.ALL"


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class IssuedToken:
    dc: str
    expires_at: datetime


class AccountsServer:
    """Refresh tokens per data centre (one per org) and the live access tokens of every data centre."""

    def __init__(self, clock: SandboxClock, client: ClientCredentials, api_domains: dict[str, str],
                 lifetime_seconds: float = DEFAULT_TOKEN_LIFETIME_SECONDS) -> None:
        self.clock, self.client, self.api_domains = clock, client, api_domains
        self.lifetime = timedelta(seconds=lifetime_seconds)
        self._lock = threading.Lock()
        self.refresh_tokens = {dc: f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}" for dc in api_domains}
        self._grant_codes: dict[str, str] = {}
        self._access: dict[str, IssuedToken] = {}
        self.grants = 0  # tokens issued, for tests that count refreshes

    def reset(self) -> None:
        with self._lock:
            self._access.clear()
            self.grants = 0

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._access)
            self._access.clear()
            return count

    def dc_of(self, token: str) -> str | None:
        """The data centre a live token belongs to, or None when unknown or expired."""
        with self._lock:
            issued = self._access.get(token)
        if issued is None or self.clock.now() >= issued.expires_at:
            return None
        return issued.dc

    def grant_code(self, dc: str) -> str:
        """A one-time authorization code for `dc` (the admin API hands these out)."""
        code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        with self._lock:
            self._grant_codes[code] = dc
        return code

    def token(self, dc: str, form: dict[str, str]) -> dict[str, object]:
        if form.get("client_id") != self.client.client_id:
            return {"error": "invalid_client"}
        if form.get("client_secret") != self.client.client_secret:
            return {"error": "invalid_client_secret"}
        grant = form.get("grant_type")
        body: dict[str, object] = {}
        if grant == "refresh_token":
            if form.get("refresh_token") != self.refresh_tokens.get(dc):
                return {"error": "invalid_code"}  # includes a refresh token of another data centre
        elif grant == "authorization_code":
            with self._lock:
                code_dc = self._grant_codes.pop(form.get("code", ""), None)
            if code_dc != dc:
                return {"error": "invalid_code"}
            body["refresh_token"] = self.refresh_tokens[dc]
        else:
            return {"error": "unsupported_grant_type"}
        access = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        with self._lock:
            self._access[access] = IssuedToken(dc, self.clock.now() + self.lifetime)
            self.grants += 1
        return {"access_token": access, **body, "scope": SCOPE, "api_domain": self.api_domains[dc],
                "token_type": "Bearer", "expires_in": int(self.lifetime.total_seconds())}


def build_accounts_router(accounts: AccountsServer) -> APIRouter:
    router = APIRouter()

    @router.post("/accounts/{dc}/oauth/v2/token")
    async def token(dc: str, request: Request) -> JSONResponse:
        if dc not in accounts.api_domains:
            return JSONResponse({"error": "invalid_client"}, status_code=200)
        raw = (await request.body()).decode()
        form = {key: values[0] for key, values in parse_qs(raw).items()}
        form |= {key: value for key, value in request.query_params.items() if key not in form}  # Zoho takes both
        return JSONResponse(accounts.token(dc, form), status_code=200)

    return router
