"""Fixtures for the Five9 emulator and connector tests, loaded with `pytest_plugins = ["five9_sandbox_support"]`
(registered once, so the session-scoped emulator is shared by every module that asks for it).

Everything goes over real HTTPS with the sandbox CA: the admin API, the SOAP service through zeep, and web
connectors, which the emulator fires at a loopback `WebListener` standing in for crmsync's receiver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sandbox_support import LoopbackServer, SandboxHandle, closing_all, running_emulator

from crmsync.connectors.five9 import Five9Connector, Five9Settings

TIME_ZONE = "America/Los_Angeles"
SECRET = "s3cr3t-web-connector-token"
CONNECTOR_TEST_DEFAULTS: dict[str, Any] = {
    "poll_interval_seconds": 0, "poll_timeout_seconds": 0, "retry_initial_seconds": 0.001,
    "retry_max_seconds": 0.005, "max_attempts": 3, "timeout_seconds": 10, "settle_seconds": 0,
}


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    content_type: str


class WebListener(LoopbackServer):
    """A loopback HTTP server taking GET and POST; answers each request with the next of `statuses`
    (then 200), and keeps every request."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[ReceivedRequest] = []
        self.statuses = list(statuses or [])
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                with listener._lock:
                    listener.requests.append(ReceivedRequest(
                        self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                        parse_qs(body, keep_blank_values=True), self.headers.get("Content-Type", "")))
                    status = listener.statuses.pop(0) if listener.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                return

        super().__init__(Handler, "/five9/calls")


@dataclass
class Five9Sandbox(SandboxHandle):
    def place_call(self, **fields: Any) -> dict[str, Any]:
        """Place a call and deliver its web-connector requests before returning."""
        return dict(self.admin("POST", "calls", json={"wait": True, **fields}))

    def web_connector(self, url: str, **config: Any) -> dict[str, Any]:
        return dict(self.admin("POST", "five9/web-connectors",
                               json={"url": url, "constants": {"crmsync_token": SECRET}, **config}))

    def reporting(self, **values: Any) -> dict[str, Any]:
        if values:
            self.admin("PUT", "five9/reporting", json=values)
        return dict(self.admin("GET", "five9/reporting"))

    def soap(self, envelope: str, auth: tuple[str, str] | None = None) -> requests.Response:
        credentials = self.endpoint.credentials
        return self.http.post(f"{self.base_url}/wsadmin/v12/AdminWebService", data=envelope.encode(),
                              headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
                              auth=auth or (credentials["username"], credentials["password"]))


@pytest.fixture(scope="session")
def five9_emulator() -> Iterator[Five9Sandbox]:
    with running_emulator("five9", {"time_zone": TIME_ZONE}) as (runner, http):
        yield Five9Sandbox(runner.endpoints["five9"], http)


@pytest.fixture
def five9(five9_emulator: Five9Sandbox) -> Five9Sandbox:
    """No calls, connectors or report runs; default reporting limits; real-time clock."""
    five9_emulator.admin("POST", "reset")
    return five9_emulator


@pytest.fixture
def listener() -> Iterator[WebListener]:
    server = WebListener()
    yield server
    server.close()


def five9_settings(sandbox: Five9Sandbox, **overrides: Any) -> Five9Settings:
    credentials = sandbox.endpoint.credentials
    values: dict[str, Any] = {
        "username": credentials["username"], "password": credentials["password"], "base_url": sandbox.base_url,
        "ca_bundle": sandbox.endpoint.ca_bundle, "time_zone": TIME_ZONE, "web_connector_secret": SECRET,
        **CONNECTOR_TEST_DEFAULTS, **overrides,
    }
    return Five9Settings(**values)


@pytest.fixture
def make_five9_connector(five9: Five9Sandbox) -> Iterator[Callable[..., Five9Connector]]:
    def make(name: str = "five9-test", **overrides: Any) -> Five9Connector:
        return Five9Connector(five9_settings(five9, **overrides), name=name)

    with closing_all(make) as tracked:
        yield tracked
