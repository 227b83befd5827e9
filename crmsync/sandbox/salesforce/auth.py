"""OAuth 2.0 token endpoint and access-token bookkeeping (lifetimes follow the sandbox clock)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crmsync.sandbox.framework.clock import SandboxClock

DEFAULT_TOKEN_LIFETIME_SECONDS = 2 * 60 * 60  # Salesforce's default session timeout


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class OAuthCredentials:
    client_id: str
    client_secret: str
    username: str
    password: str

    def as_dict(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "username": self.username,
                "password": self.password}


class TokenService:
    """Issues access tokens for the three supported grants and answers whether a token is live."""

    def __init__(
        self, clock: SandboxClock, credentials: OAuthCredentials, base_url: str, org_id: str, user_id: str,
        lifetime_seconds: float = DEFAULT_TOKEN_LIFETIME_SECONDS,
    ) -> None:
        self.clock, self.credentials, self.base_url = clock, credentials, base_url
        self.org_id, self.user_id = org_id, user_id
        self.lifetime = timedelta(seconds=lifetime_seconds)
        self._lock = threading.Lock()
        self._access: dict[str, datetime] = {}  # token -> expiry (sandbox time)
        self._refresh: set[str] = set()

    def reset(self) -> None:
        with self._lock:
            self._access.clear()
            self._refresh.clear()

    def expire_all(self) -> int:
        """Invalidate every access token (refresh tokens stay valid, as after a session timeout)."""
        with self._lock:
            count = len(self._access)
            self._access.clear()
            return count

    def is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._access.get(token)
            return expiry is not None and self.clock.now() < expiry

    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if client_id != self.credentials.client_id:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if client_secret != self.credentials.client_secret:
            raise OAuthError("invalid_client", "invalid client credentials")

    def grant(self, form: dict[str, str], authorization: str | None) -> dict[str, str]:
        grant_type = form.get("grant_type")
        if grant_type == "password":
            self._check_client(form.get("client_id"), form.get("client_secret"))
            if (form.get("username"), form.get("password")) != (self.credentials.username, self.credentials.password):
                raise OAuthError("invalid_grant", "authentication failure")
            return self._issue(with_refresh_token=True)
        if grant_type == "refresh_token":
            self._check_client(form.get("client_id"), form.get("client_secret"))
            with self._lock:
                known = form.get("refresh_token") in self._refresh
            if not known:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            return self._issue(with_refresh_token=False)
        if grant_type == "client_credentials":
            client_id, client_secret = _basic_credentials(authorization)
            self._check_client(client_id or form.get("client_id"), client_secret or form.get("client_secret"))
            return self._issue(with_refresh_token=False)
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    def _issue(self, *, with_refresh_token: bool) -> dict[str, str]:
        now = self.clock.now()
        token = f"{self.org_id[:15]}!{secrets.token_urlsafe(48)}"
        issued_at = str(int(now.timestamp() * 1000))
        identity = f"{self.base_url}/id/{self.org_id}/{self.user_id}"
        digest = hmac.new(self.credentials.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
        body = {
            "access_token": token,
            "instance_url": self.base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(digest.digest()).decode(),
            "scope": "api refresh_token",
        }
        with self._lock:
            self._access[token] = now + self.lifetime
            if with_refresh_token:
                refresh = f"5Aep{secrets.token_urlsafe(60)}"
                self._refresh.add(refresh)
                body["refresh_token"] = refresh
        return body


def _basic_credentials(authorization: str | None) -> tuple[str | None, str | None]:
    if not authorization or not authorization.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return unquote(client_id), unquote(client_secret)


def build_oauth_router(tokens: TokenService) -> APIRouter:
    router = APIRouter()

    @router.post("/services/oauth2/token")
    async def token(request: Request) -> JSONResponse:
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
        try:
            body = tokens.grant(form, request.headers.get("authorization"))
        except OAuthError as exc:
            return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=400)
        return JSONResponse(body, headers={"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"})

    return router
