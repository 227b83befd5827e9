"""Small helpers shared by the API routers: portal lookup, JSON bodies, object types, slash-tolerant routes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import Request

from crmsync.sandbox.hubspot.errors import HubSpotApiError, validation
from crmsync.sandbox.hubspot.schema import object_type_name

if TYPE_CHECKING:
    from crmsync.sandbox.hubspot.portal import HubSpotPortal


def portal_of(request: Request) -> HubSpotPortal:
    return request.app.state.portal  # type: ignore[no-any-return]


def object_type_of(raw: str) -> str:
    resolved = object_type_name(raw)
    if resolved is None:
        raise HubSpotApiError(400, "VALIDATION_ERROR", f"Unable to infer object type from: {raw}")
    return resolved


async def read_json(request: Request) -> Any:
    """The body as JSON whatever the Content-Type says."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise HubSpotApiError(400, "VALIDATION_ERROR", f"Invalid input JSON on line 1: {exc}") from None


async def read_object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise validation("the request body must be a JSON object")
    return body


def inputs_of(body: dict[str, Any], maximum: int = 100) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise validation("inputs must be a list of objects")
    if len(inputs) > maximum:
        raise validation(f"Batch input cannot contain more than {maximum} inputs (got {len(inputs)})",
                         code="TOO_MANY_INPUTS")
    return inputs
