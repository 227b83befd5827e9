"""OAuth (`POST /oauth/v1/token`, refresh grant, 30-minute access tokens) and the private-app token.

Access-token lifetimes follow the sandbox clock, so a test advances the clock past 1800 s to expire them.
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
from crmsync.sandbox.hubspot.errors import error_body

DEFAULT_TOKEN_LIFETIME_SECONDS = 1800


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str
    refresh_token: str
    private_app_token: str
    portal_id: str

    def as_dict(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret,
                "refresh_token": self.refresh_token, "private_app_token": self.private_app_token,
                "portal_id": self.portal_id}


class TokenCheck:
    VALID, EXPIRED, INVALID = "valid", "expired", "invalid"


class TokenService:
    """Issues OAuth access tokens from refresh tokens and says whether a bearer token is live."""

    def __init__(self, clock: SandboxClock, credentials: AppCredentials, lifetime_seconds: float) -> None:
        self.clock, self.credentials = clock, credentials
        self.lifetime = timedelta(seconds=lifetime_seconds)
        self._lock = threading.Lock()
        self._access: dict[str, datetime] = {}
        self.refreshes = 0

    def reset(self) -> None:
        with self._lock:
            self._access.clear()
            self.refreshes = 0

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._access)
            now = self.clock.now()
            self._access = {token: now for token in self._access}
            return count

    def check(self, token: str) -> str:
        """valid / expired / invalid; the private-app token never expires."""
        if secrets.compare_digest(token, self.credentials.private_app_token):
            return TokenCheck.VALID
        with self._lock:
            expiry = self._access.get(token)
        if expiry is None:
            return TokenCheck.INVALID
        return TokenCheck.VALID if self.clock.now() < expiry else TokenCheck.EXPIRED

    def is_oauth(self, token: str) -> bool:
        return not secrets.compare_digest(token, self.credentials.private_app_token)

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if form.get("grant_type") != "refresh_token":
            return 400, {"status": "BAD_GRANT_TYPE", "message": "grant_type must be refresh_token here",
                         **_ids()}
        if form.get("client_id") != self.credentials.client_id or form.get("client_secret") != \
                self.credentials.client_secret:
            return 400, {"status": "BAD_CLIENT_ID", "message": "missing or invalid client_id/client_secret", **_ids()}
        if form.get("refresh_token") != self.credentials.refresh_token:
            return 400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token", **_ids()}
        token = "CJSandbox" + secrets.token_urlsafe(40)
        with self._lock:
            self._access[token] = self.clock.now() + self.lifetime
            self.refreshes += 1
        return 200, {"access_token": token, "refresh_token": self.credentials.refresh_token,
                     "expires_in": int(self.lifetime.total_seconds()), "token_type": "bearer"}


def _ids() -> dict[str, str]:
    return {k: v for k, v in error_body("", "").items() if k == "correlationId"}


def build_oauth_router(tokens: TokenService) -> APIRouter:
    router = APIRouter()

    @router.post("/oauth/v1/token")
    async def token(request: Request) -> JSONResponse:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        status, body = tokens.grant(form)
        return JSONResponse(body, status_code=status)

    return router
