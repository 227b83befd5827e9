"""sObject CRUD at `/services/data/vXX.X/sobjects/<Object>/...`, with the REST API's status codes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from crmsync.sandbox.framework.routing import route
from crmsync.sandbox.salesforce.errors import SalesforceApiError, not_found_error
from crmsync.sandbox.salesforce.routing import API_PREFIX, org_of, read_json, sobject_or_404, version_of
from crmsync.sandbox.salesforce.schema import SObjectDef
from crmsync.sandbox.salesforce.store import Record
from crmsync.sandbox.salesforce.validation import RecordError
from crmsync.sandbox.salesforce.values import to_json_value

UPSERT_REPORTS_CREATED_FROM = 46.0  # older API versions answer an update-by-upsert with 204


def record_body(sobject: SObjectDef, record: Record, version: str, fields: list[str] | None = None) -> dict[str, Any]:
    """A full record (or the `fields` subset) with `attributes`, as GET /sobjects/<Object>/<id> returns it."""
    names = fields if fields is not None else list(sobject.fields)
    body: dict[str, Any] = {
        "attributes": {"type": sobject.name, "url": f"/services/data/v{version}/sobjects/{sobject.name}/{record['Id']}"}
    }
    for name in names:
        body[name] = to_json_value(record.get(name))
    return body


def requested_fields(sobject: SObjectDef, raw: str | None) -> list[str] | None:
    """Canonical names for a `fields=A,B` parameter; unknown names are 400 INVALID_FIELD."""
    if not raw:
        return None
    names = []
    for name in (part.strip() for part in raw.split(",") if part.strip()):
        field = sobject.field(name)
        if field is None:
            raise SalesforceApiError(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject.name}", [name]
            )
        names.append(field.name)
    return names


async def _object_payload(request: Request) -> dict[str, Any]:
    payload = await read_json(request)
    if not isinstance(payload, dict):
        raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from array value")
    return payload


def build_sobjects_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX + "/sobjects/{object_name}")

    @route(api, "GET", "")
    async def object_info(request: Request, object_name: str) -> dict[str, Any]:
        sobject = sobject_or_404(org_of(request), object_name)
        return {"objectDescribe": {"name": sobject.name, "label": sobject.label, "keyPrefix": sobject.key_prefix},
                "recentItems": []}

    @route(api, "POST", "")
    async def create(request: Request, object_name: str) -> JSONResponse:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        payload = await _object_payload(request)
        if any(key.lower() == "id" for key in payload):
            raise SalesforceApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        record = org.store.create(sobject.name, payload)
        return JSONResponse({"id": record["Id"], "success": True, "errors": []}, status_code=201)

    @api.get("/{record_id}")
    async def read(request: Request, object_name: str, record_id: str) -> dict[str, Any]:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        fields = requested_fields(sobject, request.query_params.get("fields"))
        record = org.store.get(sobject.name, record_id)
        if record is None:
            raise not_found_error()
        return record_body(sobject, record, version_of(request), fields)

    @api.patch("/{record_id}")
    async def update(request: Request, object_name: str, record_id: str) -> Response:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        payload = await _object_payload(request)
        if any(key.lower() == "id" for key in payload):
            raise SalesforceApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id.",
                                     ["Id"])
        org.store.update(sobject.name, record_id, payload)
        return Response(status_code=204)

    @api.delete("/{record_id}")
    async def delete(request: Request, object_name: str, record_id: str) -> Response:
        org = org_of(request)
        org.store.delete(sobject_or_404(org, object_name).name, record_id)
        return Response(status_code=204)

    @api.get("/{field_name}/{value:path}")
    async def read_by_external_id(request: Request, object_name: str, field_name: str, value: str) -> dict[str, Any]:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        field = sobject.field(field_name)
        if field is None or not (field.external_id or field.type == "id"):
            raise SalesforceApiError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        fields = requested_fields(sobject, request.query_params.get("fields"))
        matches = org.store.find_by_external(sobject.name, field, value)
        if not matches:
            raise not_found_error()
        if len(matches) > 1:
            return JSONResponse(_record_urls(sobject, matches, version_of(request)), status_code=300)
        return record_body(sobject, matches[0], version_of(request), fields)

    @api.patch("/{field_name}/{value:path}")
    async def upsert(request: Request, object_name: str, field_name: str, value: str) -> Response:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        payload = await _object_payload(request)
        version = version_of(request)
        try:
            record, created = org.store.upsert(sobject.name, field_name, value, payload)
        except RecordError as exc:
            if exc.http_status != 300:
                raise
            field = sobject.field(field_name)
            assert field is not None
            matches = org.store.find_by_external(sobject.name, field, value)
            return JSONResponse(_record_urls(sobject, matches, version), status_code=300)
        body = {"id": record["Id"], "success": True, "errors": [], "created": created}
        if created:
            return JSONResponse(body, status_code=201)
        if float(version) < UPSERT_REPORTS_CREATED_FROM:
            return Response(status_code=204)
        return JSONResponse(body, status_code=200)

    return api


def _record_urls(sobject: SObjectDef, records: list[Record], version: str) -> list[str]:
    return [f"/services/data/v{version}/sobjects/{sobject.name}/{record['Id']}" for record in records]
