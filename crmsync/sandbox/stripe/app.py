"""Assemble the Stripe emulator: the `/v1` API behind fault middleware, plus the admin API."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from crmsync.sandbox.framework.assembly import emulator, vendor_app
from crmsync.sandbox.framework.emulator import Emulator, EmulatorSettings
from crmsync.sandbox.framework.faults import FaultInjector
from crmsync.sandbox.stripe.backend import StripeSandbox
from crmsync.sandbox.stripe.errors import STRIPE_FAULTS


def create_stripe_emulator(settings: EmulatorSettings) -> Emulator:
    sandbox = StripeSandbox(settings.clock, FaultInjector(STRIPE_FAULTS), settings.faker_seed, settings.options)
    app = vendor_app("stripe", "Stripe", sandbox, sandbox.admin_routes())
    app.state.sandbox = sandbox

    @app.api_route("/v1/{path:path}", methods=["GET", "POST", "DELETE"])
    async def v1(request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        result = await run_in_threadpool(sandbox.api.handle, request.method, request.url.path,
                                         request.url.query, body, headers)
        return Response(json.dumps(result.body, indent=2), status_code=result.status,
                        media_type="application/json", headers=result.headers)

    return emulator("stripe", app, sandbox, {"api_key": sandbox.api_key})
