"""Fault injection: queue vendor-shaped failures by path pattern, applied as ASGI middleware.

Each emulator supplies a `FaultProfile` that says what a built-in fault kind looks like on its wire
(Salesforce answers rate limits with 403 REQUEST_LIMIT_EXCEEDED, HubSpot with 429 ...), so a test asks
for "rate_limited" and gets the vendor's real shape.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal, get_args

from starlette.types import ASGIApp, Receive, Scope, Send

FaultKind = Literal["rate_limited", "server_error", "slow", "token_expired", "quota_exhausted", "custom"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass(frozen=True)
class FaultTemplate:
    """How one fault kind looks for a vendor. `status=None` means "answer normally" (used by slow)."""

    status: int | None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


FaultProfile = Mapping[str, FaultTemplate]


@dataclass
class Fault:
    """One queued fault. `remaining=None` fires until cleared."""

    kind: str
    path: str
    method: str | None
    status: int | None
    body: Any
    headers: dict[str, str]
    delay_seconds: float
    remaining: int | None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatchcase(path, self.path)

    def describe(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    """Thread-safe queue of faults; the middleware takes at most one matching fault per request."""

    def __init__(self, profile: FaultProfile) -> None:
        self._profile = dict(profile)
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    @property
    def kinds(self) -> list[str]:
        return sorted(self._profile)

    def inject(
        self,
        kind: str = "custom",
        *,
        path: str = "*",
        method: str | None = None,
        count: int | None = 1,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay_seconds: float | None = None,
    ) -> Fault:
        """Queue a fault; explicit status/body/headers/delay override the kind's template."""
        if kind == "custom":
            template = FaultTemplate(status=status)
        elif kind in self._profile:
            template = self._profile[kind]
        else:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join([*self.kinds, 'custom'])}")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1, or null for a fault that fires until cleared")
        fault = Fault(
            kind=kind,
            path=path,
            method=method,
            status=status if status is not None else template.status,
            body=body if body is not None else template.body,
            headers={**template.headers, **(headers or {})},
            delay_seconds=template.delay_seconds if delay_seconds is None else delay_seconds,
            remaining=count,
        )
        if fault.status is None and fault.delay_seconds <= 0:
            raise ValueError("a fault needs a status code, a delay, or both")
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one shot of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.fired += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def _encode_body(body: Any) -> tuple[bytes, str]:
    if body is None:
        return b"", "application/json"
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        is_xml = body.lstrip().startswith("<")
        return body.encode(), "text/xml; charset=utf-8" if is_xml else "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json;charset=UTF-8"


class FaultMiddleware:
    """ASGI middleware: delays and/or replaces the response of requests that match a queued fault.

    Paths under `exempt_prefixes` (the admin API) are never faulted, so a test can always clear faults.
    """

    def __init__(self, app: ASGIApp, injector: FaultInjector, exempt_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.injector = injector
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        fault = self.injector.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay_seconds > 0:
            await asyncio.sleep(fault.delay_seconds)
        if fault.status is None:
            await self.app(scope, receive, send)
            return
        payload, content_type = _encode_body(fault.body)
        headers = {"content-type": content_type, **{k.lower(): v for k, v in fault.headers.items()}}
        headers["content-length"] = str(len(payload))
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": fault.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})
