"""`/crm/v3/objects/{objectType}`: list, get, create, update, archive, batch, search and merge."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from crmsync.sandbox.framework.routing import route
from crmsync.sandbox.hubspot.bodies import (
    association_types,
    batch_response,
    bool_param,
    int_param,
    list_param,
    property_names,
    render,
)
from crmsync.sandbox.hubspot.errors import HubSpotApiError, validation
from crmsync.sandbox.hubspot.relations import associate, merge, target_type
from crmsync.sandbox.hubspot.routing import inputs_of, object_type_of, portal_of, read_object
from crmsync.sandbox.hubspot.search import search
from crmsync.sandbox.hubspot.store import ChangeEvent, HubRecord, PortalStore

PREFIX = "/crm/v3/objects/{object_type}"


def _all_properties(record: HubRecord) -> list[str]:
    return list(record.properties)


def _create(store: PortalStore, object_type: str, item: dict[str, Any]) -> HubRecord:
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        raise validation("properties must be an object of property name to value")
    links = []
    for association in item.get("associations") or []:
        to_id = str((association.get("to") or {}).get("id", ""))
        for spec in association.get("types") or [{}]:
            type_id = int(spec.get("associationTypeId", 0))
            links.append((store.live(target_type(object_type, type_id), to_id), type_id))
    with store.lock:
        record = store.create(object_type, properties)
        for target, type_id in links:
            associate(store, record, target, [type_id])
    return record


def _batch(store: PortalStore, inputs: list[dict[str, Any]], handle: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """Run `handle` per input; failures become StandardError entries naming the input's id and trace id."""
    results, errors = [], []
    for item in inputs:
        try:
            results.append(handle(item))
        except HubSpotApiError as exc:
            error = exc.batch_error()
            context = dict(error["context"])
            if item.get("id") is not None:
                context.setdefault("ids", [str(item["id"])])
            if item.get("objectWriteTraceId") is not None:
                context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
            errors.append(error | {"context": context})
    return results, errors


def _traced(body: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    trace = item.get("objectWriteTraceId")
    return body if trace is None else body | {"objectWriteTraceId": str(trace)}


def build_objects_router() -> APIRouter:
    router = APIRouter()

    @route(router, "POST", PREFIX + "/search")
    async def search_objects(object_type: str, request: Request) -> dict[str, Any]:
        return search(portal_of(request).store, object_type_of(object_type), await read_object(request))

    @route(router, "POST", PREFIX + "/merge")
    async def merge_objects(object_type: str, request: Request) -> dict[str, Any]:
        body, store = await read_object(request), portal_of(request).store
        kind = object_type_of(object_type)
        survivor = merge(store, kind, str(body.get("primaryObjectId", "")), str(body.get("objectIdToMerge", "")))
        return render(store, survivor, _all_properties(survivor))

    @route(router, "POST", PREFIX + "/gdpr-delete", status_code=204)
    async def gdpr_delete(object_type: str, request: Request) -> Response:
        """Permanent deletion; by email, an unknown address is only blocklisted, so it answers 204 as well."""
        body, store, kind = await read_object(request), portal_of(request).store, object_type_of(object_type)
        object_id, id_property = str(body.get("objectId") or ""), body.get("idProperty")
        if not object_id:
            raise validation("objectId is required", code="MISSING_OBJECT_ID")
        with store.lock:
            gone = store.purge(kind, object_id, id_property=id_property)
            if gone is None and not id_property:
                raise HubSpotApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {kind} {object_id}",
                                      context={"ids": [object_id]})
            if gone is not None:
                store.emit(ChangeEvent(kind, "privacyDeletion", gone.id))
        return Response(status_code=204)

    @route(router, "POST", PREFIX + "/batch/read")
    async def batch_read(object_type: str, request: Request) -> JSONResponse:
        body, store, kind = await read_object(request), portal_of(request).store, object_type_of(object_type)
        archived, id_property = bool_param(request.query_params, "archived"), body.get("idProperty")
        names = property_names(store, kind, body.get("properties"))

        def read(item: dict[str, Any]) -> dict[str, Any]:
            found = store.get(kind, str(item.get("id", "")), id_property=id_property, archived=archived)
            if found is None:
                raise HubSpotApiError(404, "OBJECT_NOT_FOUND", "Could not get some objects, they may be deleted or "
                                      "not exist. Check that ids are valid.", context={"ids": [str(item.get("id"))]})
            return render(store, found, names)

        with store.lock:
            return batch_response(*_batch(store, inputs_of(body), read))

    @route(router, "POST", PREFIX + "/batch/create")
    async def batch_create(object_type: str, request: Request) -> JSONResponse:
        body, store, kind = await read_object(request), portal_of(request).store, object_type_of(object_type)

        def create(item: dict[str, Any]) -> dict[str, Any]:
            record = _create(store, kind, item)
            return _traced(render(store, record, _all_properties(record)), item)

        return batch_response(*_batch(store, inputs_of(body), create), ok_status=201)

    @route(router, "POST", PREFIX + "/batch/update")
    async def batch_update(object_type: str, request: Request) -> JSONResponse:
        body, store, kind = await read_object(request), portal_of(request).store, object_type_of(object_type)

        def update(item: dict[str, Any]) -> dict[str, Any]:
            record = store.update(kind, str(item.get("id", "")), item.get("properties") or {},
                                  id_property=item.get("idProperty") or body.get("idProperty"))
            return _traced(render(store, record, _all_properties(record)), item)

        return batch_response(*_batch(store, inputs_of(body), update))

    @route(router, "POST", PREFIX + "/batch/upsert")
    async def batch_upsert(object_type: str, request: Request) -> JSONResponse:
        body, store, kind = await read_object(request), portal_of(request).store, object_type_of(object_type)

        def upsert(item: dict[str, Any]) -> dict[str, Any]:
            id_property = item.get("idProperty") or body.get("idProperty")
            if not id_property or item.get("id") in (None, ""):
                raise validation("every upsert input needs idProperty and id", code="MISSING_ID_PROPERTY")
            record, created = store.upsert(kind, str(id_property), str(item["id"]), item.get("properties") or {})
            return _traced(render(store, record, _all_properties(record)) | {"new": created}, item)

        return batch_response(*_batch(store, inputs_of(body), upsert))

    @route(router, "POST", PREFIX + "/batch/archive")
    async def batch_archive(object_type: str, request: Request) -> Response:
        body, store, kind = await read_object(request), portal_of(request).store, object_type_of(object_type)
        for item in inputs_of(body):
            if store.get(kind, str(item.get("id", ""))) is not None:
                store.archive(kind, str(item["id"]))
        return Response(status_code=204)

    @route(router, "GET", PREFIX)
    async def list_objects(object_type: str, request: Request) -> dict[str, Any]:
        store, kind, query = portal_of(request).store, object_type_of(object_type), request.query_params
        limit = int_param(query, "limit", 10, 100)
        after = query.get("after") or "0"
        if not after.isdigit():
            raise validation(f"after must be a paging cursor from an earlier response, got {after!r}")
        archived = bool_param(query, "archived")
        names = property_names(store, kind, list_param(query, "properties"))
        linked = association_types(store, list_param(query, "associations"))
        with store.lock:
            table = store.tables[kind]
            ids = table.archived_ids if archived else table.live_ids
            start = bisect_right(ids, int(after))
            page = ids[start:start + limit]
            results = [render(store, table.rows[i], names, linked) for i in page]
            more = start + limit < len(ids)
        body: dict[str, Any] = {"results": results}
        if more and page:
            body["paging"] = {"next": {"after": str(page[-1]), "link": f"{request.url.path}?after={page[-1]}"}}
        return body

    @route(router, "POST", PREFIX, status_code=201)
    async def create_object(object_type: str, request: Request) -> dict[str, Any]:
        store, kind = portal_of(request).store, object_type_of(object_type)
        record = _create(store, kind, await read_object(request))
        return render(store, record, _all_properties(record))

    @route(router, "GET", PREFIX + "/{object_id}")
    async def get_object(object_type: str, object_id: str, request: Request) -> dict[str, Any]:
        store, kind, query = portal_of(request).store, object_type_of(object_type), request.query_params
        found = store.get(kind, object_id, id_property=query.get("idProperty"), archived=bool_param(query, "archived"))
        if found is None:
            raise HubSpotApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {kind} {object_id}",
                                  context={"ids": [object_id]})
        names = property_names(store, kind, list_param(query, "properties"))
        return render(store, found, names, association_types(store, list_param(query, "associations")))

    @route(router, "PATCH", PREFIX + "/{object_id}")
    async def update_object(object_type: str, object_id: str, request: Request) -> dict[str, Any]:
        store, kind = portal_of(request).store, object_type_of(object_type)
        body = await read_object(request)
        record = store.update(kind, object_id, body.get("properties") or {},
                              id_property=request.query_params.get("idProperty"))
        return render(store, record, _all_properties(record))

    @route(router, "DELETE", PREFIX + "/{object_id}")
    async def archive_object(object_type: str, object_id: str, request: Request) -> Response:
        store, kind = portal_of(request).store, object_type_of(object_type)
        if store.get(kind, object_id) is not None:  # archiving twice is not an error in HubSpot
            store.archive(kind, object_id)
        return Response(status_code=204)

    return router
