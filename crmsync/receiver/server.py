"""`crmsync serve` in one object: the receiver app, the inbox processor thread and the scheduler.

`Receiver(workspace)` builds an adapter for every connection whose system receives webhooks; `start()` runs
the inbox processor (and the scheduler, when asked) in background threads; `app` is the ASGI app uvicorn
serves. `stop()` stops processing after the current batch: stored events stay in the inbox for next time.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from datetime import UTC, datetime
from typing import Any

from crmsync.errors import ConfigError, CrmsyncError
from crmsync.receiver.app import create_app
from crmsync.receiver.events import WebhookAdapter, build_adapter, has_adapter
from crmsync.receiver.metrics import ReceiverMetrics
from crmsync.receiver.processor import InboxProcessor, start_processor
from crmsync.sync_engine.workspace import Workspace

log = logging.getLogger("crmsync.serve")
RENEW_CHECK_SECONDS = 60.0


class Receiver:
    def __init__(self, workspace: Workspace, with_scheduler: bool = True) -> None:
        self.workspace = workspace
        server = workspace.settings.server
        self.adapters: dict[str, WebhookAdapter] = {
            c.name: build_adapter(c.system, workspace.connector(c.name), c, server.public_url)
            for c in workspace.connections if has_adapter(c.system)}
        self.metrics = ReceiverMetrics(workspace.engine)
        self.processor = InboxProcessor(workspace, self.adapters, self.metrics, batch_size=server.inbox_batch_size,
                                        max_attempts=server.inbox_max_attempts,
                                        retry_seconds=server.inbox_retry_seconds,
                                        hold_seconds=server.inbox_hold_seconds)
        self.scheduler: Any = None
        if with_scheduler:
            from crmsync.sync_engine.schedule import build_scheduler

            self.scheduler = build_scheduler(workspace)
        self.app = create_app(workspace, self.adapters, self.metrics, public_url=server.public_url,
                              max_body_bytes=server.max_body_bytes,
                              scheduler_alive=self._scheduler_alive if with_scheduler else None)
        self._processor: tuple[threading.Thread, threading.Event] | None = None
        self._renewals: threading.Event | None = None

    def _scheduler_alive(self) -> bool:
        return self.scheduler is None or bool(self.scheduler.running)

    def start(self) -> None:
        self._processor = start_processor(self.processor, self.workspace.settings.server.inbox_poll_seconds)
        if self.scheduler is not None:
            self.scheduler.start()
        self._subscribe()
        log.info("receiving webhooks for %s", ", ".join(self.adapters) or "no connection")

    def _subscribe(self) -> None:
        """Vendors that push only to a subscribed channel (Zoho's watch) get subscribed now and renewed
        before expiry by a small thread; a failure is logged and the scheduled poll still covers the gap."""
        channels = [name for name in self.adapters if hasattr(self.workspace.connector(name), "renew_if_needed")]
        watched = [name for name in channels if self.workspace.connector(name).notifications_configured]  # type: ignore[attr-defined]
        for name in sorted(set(channels) - set(watched)):
            log.info("%s: notifications are not configured (notify_url, notification_token): polling only", name)
        for name in watched:
            try:
                expiry = self.workspace.connector(name).subscribe()  # type: ignore[attr-defined]
                log.info("%s: notification channel subscribed until %s", name, expiry)
            except CrmsyncError as exc:
                log.warning("%s: cannot subscribe to notifications (%s); polling still runs", name, exc)
        if watched:
            self._renewals = threading.Event()
            threading.Thread(target=self._renew, args=(watched, self._renewals), name="crmsync-renew",
                             daemon=True).start()

    def _renew(self, names: list[str], stop: threading.Event) -> None:
        while not stop.wait(RENEW_CHECK_SECONDS):
            for name in names:
                try:
                    self.workspace.connector(name).renew_if_needed(datetime.now(UTC))  # type: ignore[attr-defined]
                except CrmsyncError as exc:
                    log.warning("%s: notification channel renewal failed (%s); will try again", name, exc)

    def stop(self) -> None:
        if self.scheduler is not None:
            from crmsync.sync_engine.schedule import stop

            stop(self.scheduler)
        if self._renewals is not None:
            self._renewals.set()
        if self._processor is not None:
            thread, stopping = self._processor
            stopping.set()
            thread.join(timeout=30)


def bind_listener(host: str, port: int) -> socket.socket:
    """The listening socket `crmsync serve` answers on, bound before anything is announced or started; a port
    that is taken (or an address this machine does not have) is a ConfigError in one line."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                 flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host!r}: {exc.strerror}; check server.host or --host") from None
    listener = socket.socket(family, kind, proto)
    try:
        # As uvicorn does: a restart may reuse a port whose old connections linger in TIME_WAIT. It still
        # cannot take a port another process is listening on.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is already in use (another crmsync serve?); stop that "
                              "process or choose another port with --port or server.port") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; check server.host/server.port "
                          "or --host/--port") from None
    return listener


class BackgroundServer:
    """An ASGI app served by uvicorn on a loopback port in a thread (demo, tests, benchmarks)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import socket

        self.app = app  # may be set after construction: the URL is known once the port is bound
        self._sock = socket.socket()
        self._sock.bind((host, port))
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        self._server: Any = None
        self._thread = threading.Thread(target=self._run, name="crmsync-receiver", daemon=True)

    def _run(self) -> None:
        import asyncio

        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> BackgroundServer:
        import time

        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off",
                                                     timeout_graceful_shutdown=1))
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
