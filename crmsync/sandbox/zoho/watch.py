"""The `/actions/watch` routes over the org's NotificationHub."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from crmsync.sandbox.zoho.errors import ZohoApiError
from crmsync.sandbox.zoho.routing import API_PREFIX, list_param, org_of, read_json


def _items(body: Any) -> list[Any]:
    items = body.get("watch") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ZohoApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                           {"api_name": "watch", "json_path": "$.watch"})
    return items


def _answer(results: list[dict[str, Any]]) -> JSONResponse:
    statuses = {row["status"] for row in results}
    status = 200 if statuses == {"success"} else 400 if statuses == {"error"} else 207
    return JSONResponse({"watch": results}, status_code=status)


def build_watch_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    @router.post("/actions/watch")
    async def subscribe(request: Request) -> JSONResponse:
        org = org_of(request)
        return _answer(org.notifications.subscribe(_items(await read_json(request))))

    @router.put("/actions/watch")
    @router.patch("/actions/watch")
    async def update(request: Request) -> JSONResponse:
        org = org_of(request)
        return _answer(org.notifications.update(_items(await read_json(request))))

    @router.get("/actions/watch")
    def channels(request: Request) -> Response:
        described = org_of(request).notifications.describe()
        return JSONResponse({"watch": described}) if described else Response(status_code=204)

    @router.delete("/actions/watch")
    def disable(request: Request) -> JSONResponse:
        ids = list_param(request, "channel_ids")
        if not ids:
            raise ZohoApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                               {"param_name": "channel_ids"})
        return _answer(org_of(request).notifications.disable(ids))

    return router
