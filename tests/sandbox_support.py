"""Helpers shared by the sandbox and connector tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar

import requests

from crmsync.connectors.salesforce import SalesforceSettings
from crmsync.sandbox import SandboxEndpoint, SandboxRunner

API_VERSION = "59.0"


class _Closable(Protocol):
    def close(self) -> None: ...


ClosableT = TypeVar("ClosableT", bound=_Closable)


@contextmanager
def closing_all(make: Callable[..., ClosableT]) -> Iterator[Callable[..., ClosableT]]:
    """`make`, for a connector fixture's scope: every connector it made is closed when the block ends."""
    made: list[ClosableT] = []

    def tracked(*args: Any, **kwargs: Any) -> ClosableT:
        made.append(connector := make(*args, **kwargs))
        return connector

    try:
        yield tracked
    finally:
        for connector in made:
            connector.close()


@contextmanager
def running_emulator(vendor: str, options: Mapping[str, Any] | None = None
                     ) -> Iterator[tuple[SandboxRunner, requests.Session]]:
    """One vendor's emulator for a fixture's scope, with a session for it. At the end the session is closed and
    garbage collected: responses kept alive by exception tracebacks pin client sockets open, and the emulator's
    graceful shutdown waits for every client to go."""
    with SandboxRunner([vendor], options={vendor: dict(options or {})}) as runner:
        http = runner.endpoints[vendor].requests_session()
        try:
            yield runner, http
        finally:
            http.close()
            gc.collect()


@dataclass
class SandboxHandle:
    """A running emulator and a session for its admin API (`/__sandbox/...`); each vendor's handle adds its own."""

    endpoint: SandboxEndpoint
    http: requests.Session

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/__sandbox/{path}", **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


class PinnedCaSession(requests.Session):
    """A session that always verifies with one CA file, whatever `verify` an SDK passes (stripe-python and
    razorpay-python pass their bundled CA file on every call)."""

    def __init__(self, ca_bundle: str | None) -> None:
        super().__init__()
        self.trust_env = False
        self.ca_bundle = ca_bundle

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["verify"] = self.ca_bundle or True
        return super().request(*args, **kwargs)


class LoopbackServer:
    """A threaded HTTP server on a free loopback port for `handler`, at `url` (ending in `path`)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], path: str) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass
class SalesforceSandbox(SandboxHandle):
    """The running emulator plus helpers for its admin API and for SDK clients."""

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


Responder = Callable[[bytes], tuple[int, bytes]]


class LocalListener(LoopbackServer):
    """A loopback HTTP listener standing in for crmsync's receiver: `respond(body)` decides each answer.

    Every request is kept as (headers, body); `answered` is set after each response.
    """

    def __init__(self, respond: Responder, path: str = "/listener") -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answered = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                listener.requests.append((dict(self.headers), body))
                status, reply = respond(body)
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                listener.answered.set()

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                return

        super().__init__(Handler, path)


# Fast and deterministic: tiny backoffs, no Bulk unless a test asks, no lookback unless a test asks.
TEST_DEFAULTS: dict[str, Any] = {
    "retry_initial_seconds": 0.001,
    "retry_max_seconds": 0.005,
    "max_attempts": 3,
    "bulk_threshold": None,
    "bulk_poll_seconds": 0,
    "lookback_seconds": 0,
    "timeout_seconds": 10,
}


class SalesforceOrgAdmin(SalesforceSandbox):
    """The running emulator's admin API (`/__sandbox/...`): plays the users and the platform of the org."""

    def create(self, object_name: str, **fields: Any) -> str:
        return str(self.admin("POST", f"records/{object_name}", json=fields)["Id"])

    def update(self, object_name: str, record_id: str, **fields: Any) -> None:
        self.admin("PATCH", f"records/{object_name}/{record_id}", json=fields)

    def seed(self, object_name: str, count: int, seed: int = 7) -> None:
        self.admin("POST", "seed", json={"object": object_name, "count": count, "seed": seed})

    def records(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"records/{object_name}", params={"include_deleted": include_deleted}))

    def purge(self, *record_ids: str) -> list[str]:
        """Remove records for good, as emptying the recycle bin (or a Bulk hardDelete, for live ones) does."""
        return list(self.admin("POST", "recycle-bin/empty", json={"ids": list(record_ids)})["purged"])

    def usage(self) -> dict[str, int]:
        """{"daily_limit", "used"} without changing either."""
        return dict(self.admin("PUT", "quota", json={}))

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock/advance", json={"seconds": seconds})

    def fault(self, **spec: Any) -> None:
        self.admin("POST", "faults", json=spec)


def settings_for(org: SalesforceOrgAdmin, **overrides: Any) -> SalesforceSettings:
    """Settings that log in to the emulator with its password-grant credentials and trust its CA."""
    credentials = org.endpoint.credentials
    values: dict[str, Any] = {
        "login_url": org.base_url,
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "username": credentials["username"],
        "password": credentials["password"],
        "ca_bundle": org.endpoint.ca_bundle,
        **TEST_DEFAULTS,
        **overrides,
    }
    return SalesforceSettings(**values)
