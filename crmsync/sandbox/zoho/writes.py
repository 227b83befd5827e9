"""Writing records: insert `POST /{Module}`, update `PUT /{Module}` and `PUT /{Module}/{id}`, upsert
`POST /{Module}/upsert` (with `duplicate_check_fields`) and delete `DELETE /{Module}?ids=`.

Each row succeeds or fails on its own inside one `data[]` array (`code`, `details`, `message`, `status`).
HTTP status: 201 when every row of an insert succeeded, 200 for other all-success answers, 207 for a mix,
400 when every row failed. Clients must read each row's `status`, not the HTTP code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crmsync.sandbox.zoho.errors import ZohoApiError
from crmsync.sandbox.zoho.modules import ModuleDef
from crmsync.sandbox.zoho.routing import API_PREFIX, list_param, module_or_error, org_of, read_json
from crmsync.sandbox.zoho.store import Record, RecordStore, record_not_found
from crmsync.sandbox.zoho.validation import TEXT_TYPES, RowError, comparable
from crmsync.sandbox.zoho.values import format_datetime

MAX_ROWS = 100


def success_row(store: RecordStore, record: Record, action: str, duplicate_field: str | None = None
                ) -> dict[str, Any]:
    user = {"name": store.user.name, "id": store.user.id}
    details = {"Modified_Time": format_datetime(record["Modified_Time"], store.dc.tz), "Modified_By": user,
               "Created_Time": format_datetime(record["Created_Time"], store.dc.tz), "id": record["id"],
               "Created_By": user, "$approval_state": "approved"}
    row: dict[str, Any] = {"code": "SUCCESS", "duplicate_field": duplicate_field, "action": action,
                           "details": details, "message": "record added" if action == "insert" else "record updated",
                           "status": "success"}
    return row


def _rows_of(body: Any) -> list[Any]:
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list) or not data:
        raise ZohoApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                           {"api_name": "data", "json_path": "$.data"})
    if len(data) > MAX_ROWS:
        raise ZohoApiError(400, "LIMIT_EXCEEDED", f"at most {MAX_ROWS} records per call",
                           {"api_name": "data", "limit": MAX_ROWS})
    return data


def _answer(rows: list[dict[str, Any]], all_success_status: int) -> JSONResponse:
    statuses = {row["status"] for row in rows}
    status = all_success_status if statuses == {"success"} else 400 if statuses == {"error"} else 207
    return JSONResponse({"data": rows}, status_code=status)


class DuplicateIndex:
    """Existing records by each duplicate-check field's value, kept current as the batch inserts rows."""

    def __init__(self, store: RecordStore, module: ModuleDef, fields: list[str]) -> None:
        self.fields = fields
        self._index: dict[str, dict[Any, str]] = {name: {} for name in fields}
        for record in sorted(store.rows(module.api_name), key=lambda r: int(r["id"]), reverse=True):
            self.add(record)  # oldest last, so the oldest duplicate wins, as Zoho updates the first match

    def add(self, record: Record) -> None:
        for name in self.fields:
            value = record.get(name)
            if value not in (None, ""):
                self._index[name][comparable(value)] = record["id"]

    def match(self, row: Mapping[str, Any]) -> tuple[str, str] | None:
        for name in self.fields:
            value = row.get(name)
            if value not in (None, "") and (found := self._index[name].get(comparable(value))) is not None:
                return found, name
        return None


def _duplicate_check_fields(module: ModuleDef, body: Mapping[str, Any]) -> list[str]:
    requested = body.get("duplicate_check_fields")
    if requested is None:
        return list(module.default_duplicate_check)
    if not isinstance(requested, list) or not all(isinstance(name, str) for name in requested):
        raise ZohoApiError(400, "INVALID_DATA", "duplicate_check_fields must be a list of field API names",
                           {"api_name": "duplicate_check_fields"})
    for name in requested:
        definition = module.field(name)
        if definition is None or definition.data_type not in TEXT_TYPES | {"bigint", "integer"}:
            raise ZohoApiError(400, "INVALID_DATA", f"{name} cannot be used to check duplicates",
                               {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"})
    return requested


def build_writes_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    @router.post("/{module_name}/upsert")
    async def upsert(module_name: str, request: Request) -> JSONResponse:
        org = org_of(request)
        module = module_or_error(org, module_name)
        body = await read_json(request)
        rows = _rows_of(body)
        check_fields = _duplicate_check_fields(module, body)
        results: list[dict[str, Any]] = []
        with org.store.lock:
            index = DuplicateIndex(org.store, module, check_fields)
            for position, row in enumerate(rows):
                try:
                    if not isinstance(row, Mapping):
                        raise RowError("INVALID_DATA", "invalid data", {"json_path": f"$.data[{position}]"})
                    found = (str(row["id"]), "id") if row.get("id") else index.match(row)
                    if found is None:
                        record = org.store.create(module, row, position)
                        index.add(record)
                        results.append(success_row(org.store, record, "insert"))
                    else:
                        record = org.store.update(module, found[0], row, position)
                        index.add(record)
                        results.append(success_row(org.store, record, "update",
                                                   None if found[1] == "id" else found[1]))
                except RowError as exc:
                    results.append(exc.envelope())
        return _answer(results, 200)

    @router.post("/{module_name}")
    async def insert(module_name: str, request: Request) -> JSONResponse:
        org = org_of(request)
        module = module_or_error(org, module_name)
        results: list[dict[str, Any]] = []
        for position, row in enumerate(_rows_of(await read_json(request))):
            try:
                if not isinstance(row, Mapping):
                    raise RowError("INVALID_DATA", "invalid data", {"json_path": f"$.data[{position}]"})
                results.append(success_row(org.store, org.store.create(module, row, position), "insert"))
            except RowError as exc:
                results.append(exc.envelope())
        return _answer(results, 201)

    @router.put("/{module_name}")
    async def update_many(module_name: str, request: Request) -> JSONResponse:
        org = org_of(request)
        module = module_or_error(org, module_name)
        results: list[dict[str, Any]] = []
        for position, row in enumerate(_rows_of(await read_json(request))):
            try:
                if not isinstance(row, Mapping) or not row.get("id"):
                    raise RowError("MANDATORY_NOT_FOUND", "required field not found",
                                   {"api_name": "id", "json_path": f"$.data[{position}].id"})
                results.append(success_row(org.store, org.store.update(module, str(row["id"]), row, position),
                                           "update"))
            except RowError as exc:
                results.append(exc.envelope())
        return _answer(results, 200)

    @router.put("/{module_name}/{record_id}")
    async def update_one(module_name: str, record_id: str, request: Request) -> JSONResponse:
        org = org_of(request)
        module = module_or_error(org, module_name)
        rows = _rows_of(await read_json(request))[:1]
        try:
            if not isinstance(rows[0], Mapping):
                raise RowError("INVALID_DATA", "invalid data", {"json_path": "$.data[0]"})
            result = success_row(org.store, org.store.update(module, record_id, rows[0], 0), "update")
        except RowError as exc:
            result = exc.envelope()
        return _answer([result], 200)

    @router.delete("/{module_name}/{record_id}")
    def delete_one(module_name: str, record_id: str, request: Request) -> JSONResponse:
        return _delete(request, module_name, [record_id])

    @router.delete("/{module_name}")
    def delete_many(module_name: str, request: Request) -> JSONResponse:
        ids = list_param(request, "ids")
        if not ids:
            raise ZohoApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                               {"param_name": "ids"})
        if len(ids) > MAX_ROWS:
            raise ZohoApiError(400, "LIMIT_EXCEEDED", f"at most {MAX_ROWS} ids per call", {"param_name": "ids"})
        return _delete(request, module_name, ids)

    def _delete(request: Request, module_name: str, ids: list[str]) -> JSONResponse:
        org = org_of(request)
        module = module_or_error(org, module_name)
        results = []
        for position, record_id in enumerate(ids):
            if org.store.delete(module, record_id) is None:
                error = record_not_found(position)
                results.append({**error.envelope(), "details": {"id": record_id}})
            else:
                results.append({"code": "SUCCESS", "details": {"id": record_id}, "message": "record deleted",
                                "status": "success"})
        return _answer(results, 200)

    return router
