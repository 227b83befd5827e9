"""What every emulator's factory does the same way: start from one kind of FastAPI app with the admin API
mounted, and wrap the finished app in the fault middleware (the admin API is never faulted) and the clock's
Date header."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp

from crmsync.sandbox.framework.admin import ADMIN_PREFIX, install_admin_api
from crmsync.sandbox.framework.clock import ClockDateHeader
from crmsync.sandbox.framework.emulator import Emulator, SandboxBackend
from crmsync.sandbox.framework.faults import FaultMiddleware


def vendor_app(vendor: str, title: str, backend: SandboxBackend, vendor_routes: APIRouter | None = None) -> FastAPI:
    """No docs, no slash redirects (SDKs call exact paths), the shared admin API plus the vendor's own routes."""
    app = FastAPI(title=f"crmsync sandbox: {title}", openapi_url=None, docs_url=None, redoc_url=None,
                  redirect_slashes=False)
    install_admin_api(app, vendor, backend, vendor_routes)
    return app


def emulator(vendor: str, app: ASGIApp, backend: SandboxBackend, credentials: Mapping[str, str]) -> Emulator:
    """The built emulator: `app` (the vendor app, behind its gate if it has one) under fault injection, every
    answer dated by the sandbox clock."""
    faulted = FaultMiddleware(app, backend.faults, exempt_prefixes=(ADMIN_PREFIX,))
    return Emulator(vendor=vendor, app=ClockDateHeader(faulted, backend.clock),
                    credentials=dict(credentials), backend=backend, close=getattr(backend, "close", lambda: None))
