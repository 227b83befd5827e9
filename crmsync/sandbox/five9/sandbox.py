"""The emulated Five9 domain behind `/__sandbox/...`: call log, web connectors, reporting state.

Generic admin routes act on object `calls`: seed, list, create (= place a call, firing the web connectors),
update (`disposition` only: fires `OnCallDispositioned`), delete. Listeners are web connectors. Five9-only
admin routes: `POST /__sandbox/calls` (place a call; `"wait": true` delivers before answering, with the
deliveries), `GET|POST|DELETE /__sandbox/five9/web-connectors`, `GET /__sandbox/five9/deliveries`,
`GET|PUT /__sandbox/five9/reporting` (row limit, running polls, runReport windows seen).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from crmsync.sandbox.five9.calls import Call, CallLog
from crmsync.sandbox.five9.reporting import DEFAULT_ROW_LIMIT, Reporting
from crmsync.sandbox.five9.web_connectors import Delivery, WebConnectorConfig, WebConnectorHub
from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.framework.faults import FaultInjector

DEFAULT_TIME_ZONE = "America/Los_Angeles"
DEFAULT_USERNAME = "crmsync-sandbox@five9.example"
OBJECT = "calls"


class ReportingSettings(BaseModel):
    row_limit: int | None = Field(default=None, ge=1)
    running_polls: int | None = Field(default=None, ge=0)


class Five9Sandbox:
    def __init__(self, base_url: str, clock: SandboxClock, faults: FaultInjector, faker_seed: int,
                 options: Mapping[str, Any]) -> None:
        self.base_url, self.clock, self.faults, self.faker_seed = base_url, clock, faults, faker_seed
        name = str(options.get("time_zone", DEFAULT_TIME_ZONE))
        try:
            self.tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} for the Five9 sandbox; use an IANA name") from None
        self.username = str(options.get("username", DEFAULT_USERNAME))
        self.password = str(options.get("password", secrets.token_urlsafe(18)))
        self.calls = CallLog(clock, base_url)
        self.hub = WebConnectorHub(self.tz)
        self._defaults = (int(options.get("row_limit", DEFAULT_ROW_LIMIT)), int(options.get("running_polls", 1)))
        self.reporting = Reporting(self.calls, self.tz, *self._defaults)

    @property
    def credentials(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "time_zone": self.tz.key,
                "wsdl_url": f"{self.base_url}/wsadmin/v12/?wsdl&user={self.username}"}

    @staticmethod
    def _object(object_name: str) -> None:
        if object_name != OBJECT:
            raise SandboxAdminError(f"the Five9 sandbox has one object, {OBJECT!r}; got {object_name!r}", 404)

    def place_call(self, fields: Mapping[str, Any], wait: bool = False) -> tuple[Call, list[Delivery]]:
        """Record a finished call and fire the web connectors: disconnect, then disposition when it has one."""
        call = self.calls.place(fields)
        deliveries = self.hub.fire("OnCallDisconnected", call, wait)
        if call.disposition:
            deliveries += self.hub.fire("OnCallDispositioned", call, wait)
        return call, deliveries

    # -- SandboxBackend -------------------------------------------------------------------------------
    def seed(self, object_name: str, count: int, faker_seed: int | None) -> dict[str, Any]:
        self._object(object_name)
        created = self.calls.seed(count, self.faker_seed if faker_seed is None else faker_seed)
        return {"object": OBJECT, "created": created, "total": len(self.calls.calls)}

    def list_records(self, object_name: str, include_deleted: bool) -> list[dict[str, Any]]:
        self._object(object_name)
        with self.calls.lock:
            calls = sorted(self.calls.calls.values(), key=lambda call: (call.started_at, int(call.call_id)))
        return [call.render() for call in calls]

    def create_record(self, object_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._object(object_name)
        return self.place_call(fields)[0].render()

    def update_record(self, object_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        self._object(object_name)
        if set(fields) != {"disposition"} or not fields["disposition"]:
            raise SandboxAdminError("a placed call only takes a new `disposition` (as an agent dispositions it)")
        call = self.calls.disposition(record_id, str(fields["disposition"]))
        self.hub.fire("OnCallDispositioned", call, wait=False)
        return call.render()

    def delete_record(self, object_name: str, record_id: str) -> None:
        self._object(object_name)
        self.calls.delete(record_id)

    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        """A web connector, configured as a Five9 admin would (see web_connectors.WebConnectorConfig)."""
        try:
            connector = WebConnectorConfig.model_validate(config)
        except ValidationError as exc:
            raise SandboxAdminError(f"web connector refused: {exc.errors(include_url=False)}") from None
        return self.hub.configure(connector).describe()

    def list_listeners(self) -> list[dict[str, Any]]:
        return [config.describe() for config in list(self.hub.connectors.values())]

    def clear_listeners(self) -> None:
        self.hub.clear()

    def set_daily_quota(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        raise SandboxAdminError("the Five9 sandbox has no daily API quota; it limits report rows "
                                "(PUT /__sandbox/five9/reporting)")

    def reset(self) -> None:
        """No calls, no web connectors or deliveries, no report runs; reporting limits back to the options."""
        self.calls.reset()
        self.hub.clear()
        self.reporting.reset()
        self.reporting.row_limit, self.reporting.running_polls = self._defaults

    def close(self) -> None:
        self.hub.close()

    # -- Five9-only admin routes ----------------------------------------------------------------------
    def admin_routes(self) -> APIRouter:
        router = APIRouter()

        @router.post("/calls", status_code=201)
        async def place(request: Request) -> dict[str, Any]:
            fields = await request.json()
            if not isinstance(fields, dict):
                raise SandboxAdminError("request body must be a JSON object")
            wait = bool(fields.pop("wait", False))
            # Inline deliveries (with their retry delays) run in the threadpool, not on the event loop.
            call, deliveries = await run_in_threadpool(self.place_call, fields, wait)
            return {**call.render(), "deliveries": [asdict(d) for d in deliveries]}

        @router.get("/five9/web-connectors")
        async def connectors() -> list[dict[str, Any]]:
            return self.list_listeners()

        @router.post("/five9/web-connectors", status_code=201)
        async def configure(request: Request) -> dict[str, Any]:
            return self.add_listener(await request.json())

        @router.delete("/five9/web-connectors", status_code=204)
        async def remove() -> Response:
            self.hub.clear()
            return Response(status_code=204)

        @router.get("/five9/deliveries")
        async def deliveries() -> list[dict[str, Any]]:
            return [{**asdict(d), "delivered": d.delivered} for d in list(self.hub.deliveries)]

        @router.get("/five9/reporting")
        async def reporting() -> dict[str, Any]:
            return {"row_limit": self.reporting.row_limit, "running_polls": self.reporting.running_polls,
                    "time_zone": self.tz.key, "runs": list(self.reporting.requests)}

        @router.put("/five9/reporting")
        async def configure_reporting(body: ReportingSettings) -> dict[str, Any]:
            if body.row_limit is not None:
                self.reporting.row_limit = body.row_limit
            if body.running_polls is not None:
                self.reporting.running_polls = body.running_polls
            return {"row_limit": self.reporting.row_limit, "running_polls": self.reporting.running_polls}

        return router
