"""Composite sObject Collections: up to 200 rows per call, per-row results in input order.

Row errors use `statusCode` (not `errorCode`). With allOrNone every write of the call is undone when one
row fails; the rows that would have succeeded report ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from crmsync.sandbox.salesforce.errors import SalesforceApiError
from crmsync.sandbox.salesforce.routing import API_PREFIX, org_of, read_json, sobject_or_404, version_of
from crmsync.sandbox.salesforce.sobjects import record_body, requested_fields
from crmsync.sandbox.salesforce.store import SObjectStore, UnknownObjectError
from crmsync.sandbox.salesforce.validation import RecordError
from crmsync.sandbox.salesforce.values import normalize_id

MAX_WRITE_ROWS = 200
MAX_READ_IDS = 2000
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
RowResult = dict[str, Any]


class _Rollback(Exception):
    """Raised inside the store transaction to undo an all-or-none call."""


def _row_failure(error: RecordError) -> RowResult:
    if error.code == "NOT_FOUND":
        error = RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    return {"success": False, "errors": [error.collection_item()]}


def _check_row_count(count: int, limit: int = MAX_WRITE_ROWS) -> None:
    if count > limit:
        raise SalesforceApiError(
            400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {limit} records into this call"
        )


def run_rows(
    store: SObjectStore, rows: list[Any], all_or_none: bool, apply: Callable[[Any], RowResult]
) -> list[RowResult]:
    def attempt(row: Any) -> RowResult:
        try:
            return apply(row)
        except RecordError as exc:
            return _row_failure(exc)

    if not all_or_none:
        return [attempt(row) for row in rows]
    results: list[RowResult] = []
    try:
        with store.transaction():
            results = [attempt(row) for row in rows]
            if not all(result["success"] for result in results):
                raise _Rollback
    except _Rollback:
        return [result if not result["success"] else {"success": False, "errors": [ROLLED_BACK]} for result in results]
    return results


def _row_object(store: SObjectStore, row: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(row, dict):
        raise RecordError("JSON_PARSER_ERROR", "each record must be a JSON object")
    object_type = (row.get("attributes") or {}).get("type")
    if not object_type:
        raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
    try:
        sobject = store.sobject(object_type)
    except UnknownObjectError:
        raise RecordError("INVALID_TYPE", f"sObject type '{object_type}' is not supported.") from None
    return sobject.name, {key: value for key, value in row.items() if key != "attributes"}


async def _collection_body(request: Request) -> tuple[list[Any], bool]:
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SalesforceApiError(400, "JSON_PARSER_ERROR", "The request body must have a records array")
    _check_row_count(len(body["records"]))
    return body["records"], bool(body.get("allOrNone", False))


def build_composite_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX + "/composite/sobjects")

    @api.post("")
    async def create_rows(request: Request) -> list[RowResult]:
        store = org_of(request).store
        rows, all_or_none = await _collection_body(request)

        def create(row: Any) -> RowResult:
            object_name, fields = _row_object(store, row)
            if any(key.lower() == "id" for key in fields):
                raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            return {"id": store.create(object_name, fields)["Id"], "success": True, "errors": []}

        return run_rows(store, rows, all_or_none, create)

    @api.patch("")
    async def update_rows(request: Request) -> list[RowResult]:
        store = org_of(request).store
        rows, all_or_none = await _collection_body(request)

        def update(row: Any) -> RowResult:
            object_name, fields = _row_object(store, row)
            id_key = next((key for key in fields if key.lower() == "id"), None)
            if id_key is None:
                raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
            record_id = str(fields.pop(id_key))
            if normalize_id(record_id) is None:
                raise RecordError("MALFORMED_ID", f"malformed id {record_id}", ["Id"])
            return {"id": store.update(object_name, record_id, fields)["Id"], "success": True, "errors": []}

        return run_rows(store, rows, all_or_none, update)

    @api.patch("/{object_name}/{field_name}")
    async def upsert_rows(request: Request, object_name: str, field_name: str) -> list[RowResult]:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        field = sobject.field(field_name)
        if field is None or not field.external_id:
            raise SalesforceApiError(400, "INVALID_FIELD", f"Field name provided, {field_name} is not an External ID "
                                     f"or indexed field for {sobject.name}")
        rows, all_or_none = await _collection_body(request)

        def upsert(row: Any) -> RowResult:
            row_object, fields = _row_object(org.store, row)
            if row_object != sobject.name:
                raise RecordError("INVALID_TYPE", f"record type {row_object} does not match {sobject.name}")
            value_key = next((key for key in fields if key.lower() == field.name.lower()), None)
            if value_key is None or fields[value_key] in (None, ""):
                raise RecordError("MISSING_ARGUMENT", f"{field.name} not specified", [field.name])
            value = str(fields.pop(value_key))
            try:
                record, created = org.store.upsert(sobject.name, field.name, value, fields)
            except RecordError as exc:
                if exc.http_status != 300:
                    raise
                raise RecordError("DUPLICATE_EXTERNAL_ID", f"{field.name}: more than one record found for external "
                                  f"id field: {value}", [field.name]) from None
            return {"id": record["Id"], "success": True, "errors": [], "created": created}

        return run_rows(org.store, rows, all_or_none, upsert)

    @api.delete("")
    async def delete_rows(request: Request) -> list[RowResult]:
        store = org_of(request).store
        ids = [part for part in request.query_params.get("ids", "").split(",") if part]
        _check_row_count(len(ids))
        all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

        def delete(record_id: str) -> RowResult:
            object_name = store.object_of_id(record_id)
            if normalize_id(record_id) is None or object_name is None:
                raise RecordError("MALFORMED_ID", f"malformed id {record_id}")
            store.delete(object_name, record_id)
            return {"id": normalize_id(record_id), "success": True, "errors": []}

        return run_rows(store, ids, all_or_none, delete)

    async def read_rows(request: Request, object_name: str, ids: list[str], fields_param: str) -> list[Any]:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        fields = requested_fields(sobject, fields_param)
        if not fields:
            raise SalesforceApiError(400, "MISSING_ARGUMENT", "The fields parameter is required")
        _check_row_count(len(ids), MAX_READ_IDS)
        version = version_of(request)
        records = [org.store.get(sobject.name, record_id) for record_id in ids]
        return [None if record is None else record_body(sobject, record, version, fields) for record in records]

    @api.get("/{object_name}")
    async def read_by_ids(request: Request, object_name: str) -> list[Any]:
        ids = [part for part in request.query_params.get("ids", "").split(",") if part]
        return await read_rows(request, object_name, ids, request.query_params.get("fields", ""))

    @api.post("/{object_name}")
    async def read_by_ids_post(request: Request, object_name: str) -> list[Any]:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "expected a JSON object with ids and fields")
        return await read_rows(request, object_name, list(body.get("ids") or []), ",".join(body.get("fields") or []))

    return api
