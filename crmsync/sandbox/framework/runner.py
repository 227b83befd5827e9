"""Serve emulators with uvicorn over TLS in background threads, and stop them cleanly.

The runner binds each listening socket itself before building the emulator, so port 0 ("any free port")
works and the emulator knows its own base URL (Salesforce returns it as `instance_url`).
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import (
    DEFAULT_FAKER_SEED,
    Emulator,
    EmulatorSettings,
    SandboxEndpoint,
    get_emulator_factory,
)
from crmsync.sandbox.framework.tls import SandboxTls

LOOPBACK = "127.0.0.1"


class _IdleClientsAtShutdown(logging.Filter):
    """Drop uvicorn's "timeout graceful shutdown exceeded" line when a sandbox stops: an SDK's idle keep-alive
    TLS socket never answers close_notify, and the runner aborts those sockets itself right after (see
    `_serve`). Every other uvicorn error still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "graceful shutdown exceeded" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_IdleClientsAtShutdown())


class _EmulatorServer:
    """One uvicorn server in a daemon thread, on an already-bound socket."""

    def __init__(self, emulator: Emulator, sock: socket.socket, tls: SandboxTls) -> None:
        self.emulator = emulator
        self._sock = sock
        config = uvicorn.Config(
            emulator.app,
            ssl_certfile=str(tls.files.server_cert),
            ssl_keyfile=str(tls.files.server_key),
            log_config=None,  # leave the host application's logging alone
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
            timeout_graceful_shutdown=1,
            date_header=False,  # the emulator dates its answers with the sandbox clock (ClockDateHeader)
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"sandbox-{emulator.vendor}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            # A client that never closes its keep-alive socket outlives the graceful shutdown; abort those
            # transports while the loop still runs, or they are garbage-collected unclosed (ResourceWarning).
            for connection in list(self._server.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.abort()
            await asyncio.sleep(0.01)

    def start(self, host: str, port: int, ca_bundle: str, timeout: float) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sandbox emulator {self.emulator.vendor} did not start on {host}:{port}")
            time.sleep(0.01)
        _wait_until_answering(host, port, ca_bundle, deadline)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()
        self.emulator.close()


def _wait_until_answering(host: str, port: int, ca_bundle: str, deadline: float) -> None:
    context = ssl.create_default_context(cafile=ca_bundle)
    while True:
        connection = http.client.HTTPSConnection(host, port, context=context, timeout=2)
        try:
            connection.request("GET", "/__sandbox/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
        finally:
            connection.close()
        time.sleep(0.02)


def _bind(host: str, port: int) -> socket.socket:
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is IPPROTO_TCP, and
    # without it every response waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class SandboxRunner:
    """Start the chosen emulators; use as a context manager or call `start()` / `stop()`.

    Ports: `ports[vendor]`, else `port_base + index` when `port_base` is set, else a free port.
    `options[vendor]` reaches that vendor's factory (e.g. `{"salesforce": {"token_lifetime_seconds": 60}}`).
    All emulators of one runner share one `SandboxClock`.
    """

    def __init__(
        self,
        vendors: Sequence[str],
        *,
        host: str = LOOPBACK,
        ports: Mapping[str, int] | None = None,
        port_base: int | None = None,
        ca_dir: str | Path | None = None,
        faker_seed: int = DEFAULT_FAKER_SEED,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        clock: SandboxClock | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.vendors = list(dict.fromkeys(vendors))
        self.host = host
        self.clock = clock or SandboxClock()
        self._ports = dict(ports or {})
        self._port_base = port_base
        self._ca_dir = ca_dir
        self._faker_seed = faker_seed
        self._options = {vendor: dict(opts) for vendor, opts in (options or {}).items()}
        self._startup_timeout = startup_timeout
        self._servers: dict[str, _EmulatorServer] = {}
        self._tls: SandboxTls | None = None
        self.endpoints: dict[str, SandboxEndpoint] = {}

    @property
    def emulators(self) -> dict[str, Emulator]:
        """In-process handles (backend, clock, faults) of the running emulators."""
        return {vendor: server.emulator for vendor, server in self._servers.items()}

    def _port_for(self, index: int, vendor: str) -> int:
        if vendor in self._ports:
            return self._ports[vendor]
        return self._port_base + index if self._port_base else 0

    def start(self) -> dict[str, SandboxEndpoint]:
        factories = {vendor: get_emulator_factory(vendor) for vendor in self.vendors}
        self._tls = SandboxTls(self._ca_dir)
        try:
            for index, vendor in enumerate(self.vendors):
                self._start_one(index, vendor, factories[vendor], self._tls)
        except BaseException:
            self.stop()
            raise
        return dict(self.endpoints)

    def _start_one(self, index: int, vendor: str, factory: Any, tls: SandboxTls) -> None:
        sock = _bind(self.host, self._port_for(index, vendor))
        port = sock.getsockname()[1]
        base_url = f"https://{self.host}:{port}"
        settings = EmulatorSettings(
            vendor=vendor,
            base_url=base_url,
            clock=self.clock,
            faker_seed=self._faker_seed,
            options=self._options.get(vendor, {}),
        )
        try:
            emulator = factory(settings)
        except BaseException:
            sock.close()
            raise
        server = _EmulatorServer(emulator, sock, tls)
        server.start(self.host, port, tls.ca_bundle, self._startup_timeout)
        self._servers[vendor] = server
        self.endpoints[vendor] = SandboxEndpoint(vendor, base_url, dict(emulator.credentials), tls.ca_bundle)

    def stop(self) -> None:
        for server in reversed(list(self._servers.values())):
            server.stop()
        self._servers.clear()
        self.endpoints.clear()
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None

    def __enter__(self) -> SandboxRunner:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
