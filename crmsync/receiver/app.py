"""The webhook receiver (FastAPI): verify, store in the inbox, answer; processing happens afterwards.

    POST|GET /webhooks/{connection}   401 bad/missing/stale signature, 400 malformed, 413 too big,
                                      404 unknown connection, 503 store unavailable (the vendor retries)
    GET /healthz                      database reachable, scheduler alive
    GET /metrics                      Prometheus text format
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crmsync.connectors.base import ConnectorError
from crmsync.receiver import inbox
from crmsync.receiver.events import WebhookAdapter, WebhookRejected, WebhookRequest
from crmsync.receiver.metrics import ReceiverMetrics
from crmsync.sync_engine.workspace import Workspace

log = logging.getLogger("crmsync.receiver")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def create_app(workspace: Workspace, adapters: Mapping[str, WebhookAdapter], metrics: ReceiverMetrics, *,
               public_url: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               scheduler_alive: Callable[[], bool] | None = None) -> FastAPI:
    app = FastAPI(title="crmsync receiver", docs_url=None, redoc_url=None, openapi_url=None)
    engine = workspace.engine

    @app.api_route("/webhooks/{connection}", methods=["POST", "GET"])
    async def webhook(connection: str, request: Request) -> Response:
        adapter = adapters.get(connection)
        if adapter is None:
            return Response(f"no connection {connection!r} receives webhooks here\n", status_code=404)
        try:
            body = await _read_body(request, max_body_bytes)
        except _TooLarge:
            metrics.rejected.labels(connection, "413").inc()
            return Response(f"body over {max_body_bytes} bytes\n", status_code=413)
        received_at = datetime.now(UTC)
        url = str(request.url)
        if public_url:  # behind a proxy: sign-checked against the URL the vendor called
            url = public_url.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        call = WebhookRequest(request.method, url, {k.lower(): v for k, v in request.headers.items()},
                              dict(request.query_params), body, received_at)
        try:
            events = await run_in_threadpool(adapter.accept, call)
        except WebhookRejected as exc:
            return _refuse(connection, exc.status, str(exc))
        except ConnectorError as exc:
            return _refuse(connection, 400, str(exc))
        try:
            new = await run_in_threadpool(inbox.store, engine, connection, events, received_at)
        except SQLAlchemyError as exc:
            log.error("webhook %s: cannot store %d event(s) (%s); answering 503 so the vendor retries",
                      connection, len(events), type(exc).__name__)
            return Response("store unavailable\n", status_code=503)
        metrics.received.labels(connection).inc(new)
        metrics.duplicates.labels(connection).inc(len(events) - new)
        reply = adapter.reply(events)
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type, headers=dict(reply.headers))

    def _refuse(connection: str, status: int, reason: str) -> Response:
        metrics.rejected.labels(connection, str(status)).inc()
        log.warning("webhook %s refused with %d: %s", connection, status, reason)
        return Response(f"{reason}\n" if status == 400 else "refused\n", status_code=status)

    @app.get("/healthz")
    def healthz() -> Response:
        state = {"database": "ok", "scheduler": "not running here"}
        healthy = True
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            state["database"], healthy = f"unreachable ({type(exc).__name__})", False
        if scheduler_alive is not None:
            alive = scheduler_alive()
            state["scheduler"] = "running" if alive else "stopped"
            healthy = healthy and alive
        body = "".join(f"{key}: {value}\n" for key, value in state.items())
        return Response(body, status_code=200 if healthy else 503)

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return app
