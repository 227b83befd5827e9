"""Helpers for the sync-run tests (kept out of conftest so test modules can import them)."""

from __future__ import annotations

from typing import Any

from sandbox_support import TEST_DEFAULTS, SalesforceOrgAdmin


def connection_config(name: str, org: SalesforceOrgAdmin, objects: dict[str, str], **options: Any
                      ) -> dict[str, Any]:
    credentials = org.endpoint.credentials
    return {"name": name, "system": "salesforce", "base_url": org.base_url, "ca_bundle": org.endpoint.ca_bundle,
            "credentials": {key: credentials[key] for key in ("client_id", "client_secret", "username", "password")},
            "objects": objects, "interval_seconds": 1, "jitter_seconds": 0,
            "options": {**TEST_DEFAULTS, **options}}


class ReceiverServer:
    """`crmsync serve`'s ASGI app on a free loopback port, in a thread, as vendors reach it over HTTP."""

    def __init__(self, app: Any) -> None:
        import asyncio
        import socket
        import threading

        import uvicorn

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                                                     timeout_graceful_shutdown=1))
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])),
                                        daemon=True)

    def __enter__(self) -> ReceiverServer:
        import time

        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def hubspot_connection(portal: Any, name: str = "hs", objects: dict[str, str] | None = None) -> dict[str, Any]:
    """A connection to the HubSpot sandbox portal with a private-app token and the app's client secret (the
    key of its webhook signatures)."""
    credentials = portal.endpoint.credentials
    return {"name": name, "system": "hubspot", "base_url": portal.base_url, "ca_bundle": portal.endpoint.ca_bundle,
            "credentials": {"access_token": credentials["private_app_token"],
                            "client_secret": credentials["client_secret"]},
            "objects": objects or {"contacts": "both"},
            "options": {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "max_attempts": 4}}
