"""Small helpers shared by the API routers: the org a request is for, modules, JSON bodies, headers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request

from crmsync.sandbox.zoho.errors import ZohoApiError, invalid_module, invalid_param
from crmsync.sandbox.zoho.modules import ModuleDef
from crmsync.sandbox.zoho.store import UnknownModuleError
from crmsync.sandbox.zoho.values import parse_datetime

if TYPE_CHECKING:
    from crmsync.sandbox.zoho.org import ZohoOrg

API_PREFIX = "/api/{dc}/crm/v8"


def org_of(request: Request) -> ZohoOrg:
    return request.app.state.sandbox.orgs[request.path_params["dc"]]  # type: ignore[no-any-return]


def module_or_error(org: ZohoOrg, name: str) -> ModuleDef:
    try:
        return org.store.module(name)
    except UnknownModuleError:
        raise invalid_module(name) from None


async def read_json(request: Request) -> Any:
    """The body as JSON whatever Content-Type says (Zoho's SDK sends JSON without one)."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ZohoApiError(400, "INVALID_DATA", "body is not a valid JSON", {}) from None


def if_modified_since(request: Request) -> datetime | None:
    value = request.headers.get("if-modified-since")
    if not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        raise ZohoApiError(400, "INVALID_DATA", "invalid If-Modified-Since header",
                           {"header_name": "If-Modified-Since"}) from None


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"{name} must be a number") from None
    if not low <= value <= high:
        raise invalid_param(name, f"{name} must be between {low} and {high}", minimum=low, maximum=high)
    return value


def list_param(request: Request, name: str) -> list[str]:
    """Comma lists and repeated keys alike (`fields=a,b` or `fields=a&fields=b`)."""
    return [item.strip() for raw in request.query_params.getlist(name) for item in raw.split(",") if item.strip()]
