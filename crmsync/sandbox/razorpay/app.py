"""Assemble the Razorpay emulator: the `/v1` API behind fault middleware, plus the admin API."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from crmsync.sandbox.framework.assembly import emulator, vendor_app
from crmsync.sandbox.framework.emulator import Emulator, EmulatorSettings
from crmsync.sandbox.framework.faults import FaultInjector
from crmsync.sandbox.razorpay.backend import RazorpaySandbox
from crmsync.sandbox.razorpay.errors import RAZORPAY_FAULTS


def create_razorpay_emulator(settings: EmulatorSettings) -> Emulator:
    sandbox = RazorpaySandbox(settings.clock, FaultInjector(RAZORPAY_FAULTS), settings.faker_seed, settings.options)
    app = vendor_app("razorpay", "Razorpay", sandbox, sandbox.admin_routes())

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def v1(request: Request) -> Response:
        body = await request.body()
        result = await run_in_threadpool(sandbox.api.handle, request.method, request.url.path,
                                         dict(request.query_params), body, request.headers.get("authorization", ""))
        return Response(json.dumps(result.body), status_code=result.status, media_type="application/json")

    return emulator("razorpay", app, sandbox, {"key_id": sandbox.key_id, "key_secret": sandbox.key_secret})
