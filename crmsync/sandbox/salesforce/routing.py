"""Small helpers shared by the REST routers: org lookup, JSON bodies, slash-tolerant routes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import Request

from crmsync.sandbox.salesforce.errors import SalesforceApiError, not_found_error
from crmsync.sandbox.salesforce.schema import SObjectDef
from crmsync.sandbox.salesforce.store import UnknownObjectError

if TYPE_CHECKING:
    from crmsync.sandbox.salesforce.org import SalesforceOrg

API_PREFIX = "/services/data/v{version}"


def org_of(request: Request) -> SalesforceOrg:
    return request.app.state.org  # type: ignore[no-any-return]


def version_of(request: Request) -> str:
    return str(request.path_params["version"])


def sobject_or_404(org: SalesforceOrg, name: str) -> SObjectDef:
    try:
        return org.store.sobject(name)
    except UnknownObjectError:
        raise not_found_error() from None


async def read_json(request: Request) -> Any:
    """Parse the body as JSON whatever the Content-Type says (SDKs are not always careful)."""
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise SalesforceApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from None
