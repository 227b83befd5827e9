"""Session check and daily API allocation for every `/services/data/vXX.X/...` call.

As in Salesforce: an invalid session is 401 INVALID_SESSION_ID and does not count; a spent allocation is
403 REQUEST_LIMIT_EXCEEDED; every other response carries `Sforce-Limit-Info: api-usage=<used>/<max>`.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.salesforce.auth import TokenService
from crmsync.sandbox.salesforce.errors import error_body

DEFAULT_DAILY_API_LIMIT = 100_000
_VERSIONED = re.compile(r"^/services/data/v(\d{2}\.\d)(?:/|$)")
SUPPORTED_VERSIONS = [f"{major}.0" for major in range(20, 63)]


class ApiUsage:
    """Rolling-day API allocation, windowed on the sandbox clock."""

    def __init__(self, clock: SandboxClock, daily_limit: int = DEFAULT_DAILY_API_LIMIT) -> None:
        self.clock = clock
        self._configured_limit = daily_limit
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the configured allocation with nothing used."""
        with self._lock:
            self.daily_limit = self._configured_limit
            self.used = 0
            self._window_start = self.clock.now()

    def _roll(self) -> None:
        if self.clock.now() - self._window_start >= timedelta(days=1):
            self.used, self._window_start = 0, self.clock.now()

    def consume(self) -> bool:
        """Count one call; False when the allocation is already spent."""
        with self._lock:
            self._roll()
            if self.used >= self.daily_limit:
                return False
            self.used += 1
            return True

    def configure(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        with self._lock:
            self._roll()
            if daily_limit is not None:
                self.daily_limit = daily_limit
            if used is not None:
                self.used = used
            return {"daily_limit": self.daily_limit, "used": self.used}

    def header(self) -> str:
        with self._lock:
            return f"api-usage={self.used}/{self.daily_limit}"


async def _send_json(send: Send, status: int, body: Any, extra_headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json;charset=UTF-8"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra_headers})
    await send({"type": "http.response.body", "body": payload})


class SalesforceGate:
    """ASGI middleware in front of the REST API (OAuth, admin and `/services/data` listing pass through)."""

    def __init__(self, app: ASGIApp, tokens: TokenService, usage: ApiUsage) -> None:
        self.app, self.tokens, self.usage = app, tokens, usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _VERSIONED.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        if match.group(1) not in SUPPORTED_VERSIONS:
            await _send_json(send, 404, error_body("NOT_FOUND", "The requested resource does not exist"), [])
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not self.tokens.is_valid(token.strip()):
            body = error_body("INVALID_SESSION_ID", "Session expired or invalid")
            await _send_json(send, 401, body, [(b"www-authenticate", b'Token')])
            return
        if not self.usage.consume():
            body = error_body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            await _send_json(send, 403, body, [])
            return
        limit_header = (b"sforce-limit-info", self.usage.header().encode())

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), limit_header]}
            await send(message)

        await self.app(scope, receive, send_with_limits)
