"""Assemble the Five9 emulator: the SOAP reporting service (HTTP Basic auth), its WSDL, and the admin API."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from crmsync.sandbox.five9.reporting import SoapFault
from crmsync.sandbox.five9.sandbox import Five9Sandbox
from crmsync.sandbox.five9.wsdl import SERVICE_PATH, render_wsdl
from crmsync.sandbox.framework.assembly import emulator, vendor_app
from crmsync.sandbox.framework.emulator import Emulator, EmulatorSettings
from crmsync.sandbox.framework.faults import FaultInjector, FaultProfile, FaultTemplate

XML = "text/xml; charset=utf-8"
FIVE9_FAULTS: FaultProfile = {
    "server_error": FaultTemplate(500, SoapFault("InternalFault", "Internal Server Error").envelope()),
    "unavailable": FaultTemplate(503, "Service Unavailable"),
    "slow": FaultTemplate(None, delay_seconds=2.0),
}


def _authorized(request: Request, sandbox: Five9Sandbox) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user_ok = hmac.compare_digest(user.encode(), sandbox.username.encode())
    password_ok = hmac.compare_digest(password.encode(), sandbox.password.encode())
    return user_ok and password_ok


def _unauthorized() -> Response:
    return Response("Unauthorized", status_code=401, media_type="text/plain",
                    headers={"WWW-Authenticate": 'Basic realm="Five9 Configuration Web Services"'})


def build_soap_router(sandbox: Five9Sandbox) -> APIRouter:
    router = APIRouter()

    @router.get("/wsadmin/v12/")
    @router.get(SERVICE_PATH)
    async def wsdl(request: Request) -> Response:
        if "wsdl" not in request.query_params:
            return Response("append ?wsdl to get the service description", status_code=404, media_type="text/plain")
        if not _authorized(request, sandbox):
            return _unauthorized()
        return Response(render_wsdl(sandbox.base_url), media_type=XML)

    @router.post(SERVICE_PATH)
    async def service(request: Request) -> Response:
        if not _authorized(request, sandbox):
            return _unauthorized()
        body = await request.body()
        try:
            # Reports over many calls take a moment to render: off the event loop.
            answer = await run_in_threadpool(sandbox.reporting.handle, body)
        except SoapFault as fault:
            return Response(fault.envelope(), status_code=500, media_type=XML)
        return Response(answer, media_type=XML)

    return router


def create_five9_emulator(settings: EmulatorSettings) -> Emulator:
    sandbox = Five9Sandbox(settings.base_url, settings.clock, FaultInjector(FIVE9_FAULTS), settings.faker_seed,
                           settings.options)
    app = vendor_app("five9", "Five9", sandbox, sandbox.admin_routes())
    app.state.sandbox = sandbox
    app.include_router(build_soap_router(sandbox))
    return emulator("five9", app, sandbox, sandbox.credentials)
