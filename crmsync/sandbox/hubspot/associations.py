"""`/crm/v4/...` associations: per record and in batches, HubSpot-defined default type ids."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from crmsync.sandbox.framework.routing import route
from crmsync.sandbox.hubspot.bodies import batch_response
from crmsync.sandbox.hubspot.errors import HubSpotApiError, validation
from crmsync.sandbox.hubspot.relations import associate, associated, default_type_id, disassociate
from crmsync.sandbox.hubspot.routing import inputs_of, object_type_of, portal_of, read_json, read_object
from crmsync.sandbox.hubspot.schema import OBJECT_TYPES
from crmsync.sandbox.hubspot.store import HubRecord, PortalStore

RECORD = "/crm/v4/objects/{from_type}/{object_id}/associations"
BATCH = "/crm/v4/associations/{from_type}/{to_type}/batch"
MAX_BATCH_READ = 1000


def _types(type_ids: set[int]) -> list[dict[str, Any]]:
    return [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None} for type_id in sorted(type_ids)]


def _pair(source: HubRecord, target: HubRecord) -> dict[str, Any]:
    return {"fromObjectTypeId": OBJECT_TYPES[source.object_type].type_id, "fromObjectId": source.id,
            "toObjectTypeId": OBJECT_TYPES[target.object_type].type_id, "toObjectId": target.id, "labels": []}


def _spec_ids(specs: Any) -> list[int]:
    if not isinstance(specs, list) or not specs:
        raise validation("association types must be a non-empty list of {associationCategory, associationTypeId}")
    ids = []
    for spec in specs:
        if spec.get("associationCategory") not in ("HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"):
            raise validation(f"unknown associationCategory {spec.get('associationCategory')!r}")
        ids.append(int(spec.get("associationTypeId", 0)))
    return ids


def _id_of(value: Any) -> str:
    return str((value or {}).get("id", "")) if isinstance(value, dict) else str(value)


def _batch_body(results: list[Any], errors: list[dict[str, Any]], ok: int) -> JSONResponse:
    return batch_response(results, errors, ok_status=ok)


def _pairs(store: PortalStore, inputs: list[dict[str, Any]], from_type: str, to_type: str,
           handle: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    results, errors = [], []
    for item in inputs:
        try:
            source = store.live(from_type, _id_of(item.get("from")))
            targets = item.get("to") if isinstance(item.get("to"), list) else [item.get("to")]
            results += [handle(source, store.live(to_type, _id_of(target)), item) for target in targets]
        except HubSpotApiError as exc:
            errors.append(exc.batch_error())
    return results, errors


def build_associations_router() -> APIRouter:
    router = APIRouter()

    @route(router, "GET", RECORD + "/{to_type}")
    async def list_associations(from_type: str, object_id: str, to_type: str, request: Request) -> dict[str, Any]:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)
        record = store.live(kind, object_id)
        links = associated(store, kind, record.id, other)
        limit, after = int(request.query_params.get("limit") or 500), int(request.query_params.get("after") or 0)
        page = links[after:after + limit]
        body: dict[str, Any] = {"results": [{"toObjectId": to_id, "associationTypes": _types(ids)}
                                            for to_id, ids in page]}
        if after + limit < len(links):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return body

    @route(router, "PUT", RECORD + "/default/{to_type}/{to_id}")
    async def create_default(from_type: str, object_id: str, to_type: str, to_id: str,
                             request: Request) -> JSONResponse:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)
        source, target = store.live(kind, object_id), store.live(other, to_id)
        type_id = default_type_id(kind, other)
        associate(store, source, target, [type_id])
        result = {"from": {"id": str(source.id)}, "to": {"id": str(target.id)},
                  "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}}
        return _batch_body([result], [], 200)

    @route(router, "PUT", RECORD + "/{to_type}/{to_id}", status_code=201)
    async def create_labeled(from_type: str, object_id: str, to_type: str, to_id: str,
                             request: Request) -> dict[str, Any]:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)
        source, target = store.live(kind, object_id), store.live(other, to_id)
        associate(store, source, target, _spec_ids(await read_json(request)))
        return _pair(source, target)

    @route(router, "DELETE", RECORD + "/{to_type}/{to_id}")
    async def remove(from_type: str, object_id: str, to_type: str, to_id: str, request: Request) -> Response:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)
        disassociate(store, store.live(kind, object_id), store.live(other, to_id))
        return Response(status_code=204)

    @route(router, "POST", BATCH + "/read")
    async def batch_read(from_type: str, to_type: str, request: Request) -> JSONResponse:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)
        results, errors = [], []
        with store.lock:
            for item in inputs_of(await read_object(request), MAX_BATCH_READ):
                record = store.get(kind, _id_of(item))
                if record is None:
                    errors.append(HubSpotApiError(404, "OBJECT_NOT_FOUND", f"{kind} {_id_of(item)} was not found",
                                                  context={"ids": [_id_of(item)]}).batch_error())
                    continue
                links = associated(store, kind, record.id, other)
                results.append({"from": {"id": _id_of(item)}, "to": [
                    {"toObjectId": to_id, "associationTypes": _types(ids)} for to_id, ids in links]})
        return _batch_body(results, errors, 200)

    @route(router, "POST", BATCH + "/create")
    async def batch_create(from_type: str, to_type: str, request: Request) -> JSONResponse:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)

        def create(source: HubRecord, target: HubRecord, item: dict[str, Any]) -> dict[str, Any]:
            associate(store, source, target, _spec_ids(item.get("types")))
            return _pair(source, target)

        return _batch_body(*_pairs(store, inputs_of(await read_object(request)), kind, other, create), 201)

    @route(router, "POST", BATCH + "/associate/default")
    async def batch_default(from_type: str, to_type: str, request: Request) -> JSONResponse:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)

        def create(source: HubRecord, target: HubRecord, item: dict[str, Any]) -> dict[str, Any]:
            type_id = default_type_id(kind, other)
            associate(store, source, target, [type_id])
            return {"from": {"id": str(source.id)}, "to": {"id": str(target.id)},
                    "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}}

        return _batch_body(*_pairs(store, inputs_of(await read_object(request)), kind, other, create), 200)

    @route(router, "POST", BATCH + "/archive")
    async def batch_archive(from_type: str, to_type: str, request: Request) -> Response:
        store, kind, other = portal_of(request).store, object_type_of(from_type), object_type_of(to_type)

        def remove(source: HubRecord, target: HubRecord, item: dict[str, Any]) -> None:
            disassociate(store, source, target)

        _pairs(store, inputs_of(await read_object(request)), kind, other, remove)
        return Response(status_code=204)

    return router
