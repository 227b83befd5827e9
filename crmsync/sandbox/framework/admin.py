"""The JSON admin API every emulator mounts under `/__sandbox/`.

It is how tests and `crmsync sandbox` users play the other side: seed data, edit records as a CRM user
would, move the clock, inject faults, point webhooks at a listener, set the API quota, reset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from crmsync.sandbox.framework.emulator import SandboxAdminError, SandboxBackend

ADMIN_PREFIX = "/__sandbox"


class SeedRequest(BaseModel):
    object: str
    count: int = Field(ge=0, le=1_000_000)
    seed: int | None = None


class ClockAdvance(BaseModel):
    seconds: float


class ClockSet(BaseModel):
    now: datetime
    freeze: bool | None = None


class FaultRequest(BaseModel):
    kind: str = "custom"
    path: str = "*"
    method: str | None = None
    count: int | None = 1
    status: int | None = None
    body: Any = None
    headers: dict[str, str] | None = None
    delay_seconds: float | None = None


class QuotaRequest(BaseModel):
    daily_limit: int | None = Field(default=None, ge=0)
    used: int | None = Field(default=None, ge=0)


def _clock_state(backend: SandboxBackend) -> dict[str, Any]:
    return {"now": backend.clock.now().isoformat(), "frozen": backend.clock.frozen}


def build_admin_router(vendor: str, backend: SandboxBackend) -> APIRouter:
    """Routes shared by all emulators; a vendor may add its own to the returned router."""
    router = APIRouter(prefix=ADMIN_PREFIX)

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"vendor": vendor, "status": "ok"}

    @router.get("/clock")
    async def get_clock() -> dict[str, Any]:
        return _clock_state(backend)

    @router.post("/clock/advance")
    async def advance_clock(body: ClockAdvance) -> dict[str, Any]:
        backend.clock.advance(body.seconds)
        return _clock_state(backend)

    @router.post("/clock/set")
    async def set_clock(body: ClockSet) -> dict[str, Any]:
        backend.clock.set(body.now, freeze=body.freeze)
        return _clock_state(backend)

    @router.post("/clock/freeze")
    async def freeze_clock() -> dict[str, Any]:
        backend.clock.freeze()
        return _clock_state(backend)

    @router.post("/clock/unfreeze")
    async def unfreeze_clock() -> dict[str, Any]:
        backend.clock.unfreeze()
        return _clock_state(backend)

    @router.get("/faults")
    async def list_faults() -> dict[str, Any]:
        return {"kinds": backend.faults.kinds, "pending": backend.faults.pending()}

    @router.post("/faults", status_code=201)
    async def inject_fault(body: FaultRequest) -> dict[str, Any]:
        try:
            fault = backend.faults.inject(**body.model_dump())
        except ValueError as exc:
            raise SandboxAdminError(str(exc)) from exc
        return fault.describe()

    @router.delete("/faults", status_code=204)
    async def clear_faults() -> Response:
        backend.faults.clear()
        return Response(status_code=204)

    @router.post("/seed", status_code=201)
    def seed(body: SeedRequest) -> dict[str, Any]:
        # Sync handler: seeding 100k rows runs in the threadpool, not on the event loop.
        return backend.seed(body.object, body.count, body.seed)

    @router.get("/records/{object_name}")
    def list_records(object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        return backend.list_records(object_name, include_deleted)

    @router.post("/records/{object_name}", status_code=201)
    async def create_record(object_name: str, request: Request) -> dict[str, Any]:
        return backend.create_record(object_name, await _json_object(request))

    @router.patch("/records/{object_name}/{record_id}")
    async def update_record(object_name: str, record_id: str, request: Request) -> dict[str, Any]:
        return backend.update_record(object_name, record_id, await _json_object(request))

    @router.delete("/records/{object_name}/{record_id}", status_code=204)
    async def delete_record(object_name: str, record_id: str) -> Response:
        backend.delete_record(object_name, record_id)
        return Response(status_code=204)

    @router.get("/listeners")
    async def list_listeners() -> list[dict[str, Any]]:
        return backend.list_listeners()

    @router.post("/listeners", status_code=201)
    async def add_listener(request: Request) -> dict[str, Any]:
        return backend.add_listener(await _json_object(request))

    @router.delete("/listeners", status_code=204)
    async def clear_listeners() -> Response:
        backend.clear_listeners()
        return Response(status_code=204)

    @router.put("/quota")
    async def set_quota(body: QuotaRequest) -> dict[str, Any]:
        return backend.set_daily_quota(body.daily_limit, body.used)

    @router.post("/reset", status_code=204)
    async def reset() -> Response:
        backend.reset()
        backend.faults.clear()
        backend.clock.reset()
        return Response(status_code=204)

    return router


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError as exc:
        raise SandboxAdminError(f"request body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise SandboxAdminError("request body must be a JSON object")
    return payload


def install_admin_api(
    app: FastAPI, vendor: str, backend: SandboxBackend, vendor_routes: APIRouter | None = None
) -> None:
    """Mount the shared admin routes (plus a vendor's own, e.g. `/__sandbox/tokens/expire`) and map
    `SandboxAdminError` to `{"error": ...}` JSON."""
    app.include_router(build_admin_router(vendor, backend))
    if vendor_routes is not None:
        app.include_router(vendor_routes, prefix=ADMIN_PREFIX)

    async def admin_error(_: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, SandboxAdminError) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    app.add_exception_handler(SandboxAdminError, admin_error)
