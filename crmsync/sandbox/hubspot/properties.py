"""`/crm/v3/properties/{objectType}`: standard and custom property definitions, enumeration options."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from crmsync.sandbox.framework.routing import route
from crmsync.sandbox.hubspot.bodies import bool_param
from crmsync.sandbox.hubspot.errors import HubSpotApiError, validation
from crmsync.sandbox.hubspot.routing import object_type_of, portal_of, read_object
from crmsync.sandbox.hubspot.schema import FIELD_TYPES, PropertyDef
from crmsync.sandbox.hubspot.store import PortalStore
from crmsync.sandbox.hubspot.values import iso

PREFIX = "/crm/v3/properties/{object_type}"
PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _options(raw: Any) -> list[dict[str, object]]:
    options = []
    for index, option in enumerate(raw or []):
        if not isinstance(option, dict) or not option.get("value") or not option.get("label"):
            raise validation("every option needs a label and a value")
        options.append({"label": str(option["label"]), "value": str(option["value"]),
                        "displayOrder": int(option.get("displayOrder", index)), "hidden": bool(option.get("hidden"))})
    return options


def define_property(store: PortalStore, object_type: str, body: dict[str, Any]) -> PropertyDef:
    """Create a custom property (409 when the name is taken)."""
    name, kind = str(body.get("name", "")), str(body.get("type", ""))
    if not PROPERTY_NAME.match(name):
        raise validation(f"property name {name!r} must be lowercase letters, digits and underscores")
    if kind not in FIELD_TYPES:
        raise validation(f"property type {kind!r} must be one of {', '.join(FIELD_TYPES)}", code="INVALID_TYPE")
    for required in ("label", "groupName", "fieldType"):
        if not body.get(required):
            raise validation(f"{required} is required to create a property")
    with store.lock:
        existing = store.properties[object_type].get(name)
        if existing is not None and not existing.archived:
            raise HubSpotApiError(409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists.",
                                  context={"name": [name]})
        prop = PropertyDef(name, kind, str(body["label"]), _options(body.get("options")),  # type: ignore[arg-type]
                           unique=bool(body.get("hasUniqueValue")), hubspot_defined=False,
                           group_name=str(body["groupName"]), description=str(body.get("description", "")),
                           field_type=str(body["fieldType"]), created_ms=store.now_ms())
        store.properties[object_type][name] = prop
        if prop.unique:  # index values already present, as HubSpot refuses the property when they clash
            table = store.tables[object_type]
            for record_id in table.live_ids:
                value = table.rows[record_id].properties.get(name)
                if value:
                    table.unique.setdefault(name, {})[value.lower()] = record_id
    return prop


def build_properties_router() -> APIRouter:
    router = APIRouter()

    def describe(store: PortalStore, prop: PropertyDef) -> dict[str, Any]:
        return prop.describe(iso(prop.created_ms or store.now_ms()))

    def existing(store: PortalStore, kind: str, name: str) -> PropertyDef:
        prop = store.property(kind, name)
        if prop is None:
            raise HubSpotApiError(404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for {kind}",
                                  context={"name": [name]})
        return prop

    @route(router, "GET", PREFIX)
    async def all_properties(object_type: str, request: Request) -> dict[str, Any]:
        store, kind = portal_of(request).store, object_type_of(object_type)
        archived = bool_param(request.query_params, "archived")
        with store.lock:
            props = [p for p in store.properties[kind].values() if p.archived == archived]
            return {"results": [describe(store, p) for p in props]}

    @route(router, "POST", PREFIX, status_code=201)
    async def create(object_type: str, request: Request) -> dict[str, Any]:
        store, kind = portal_of(request).store, object_type_of(object_type)
        return describe(store, define_property(store, kind, await read_object(request)))

    @route(router, "GET", PREFIX + "/{name}")
    async def one(object_type: str, name: str, request: Request) -> dict[str, Any]:
        store = portal_of(request).store
        return describe(store, existing(store, object_type_of(object_type), name))

    @route(router, "PATCH", PREFIX + "/{name}")
    async def update(object_type: str, name: str, request: Request) -> dict[str, Any]:
        store, kind = portal_of(request).store, object_type_of(object_type)
        body = await read_object(request)
        with store.lock:
            prop = existing(store, kind, name)
            if prop.hubspot_defined and set(body) - {"options", "label", "description"}:
                raise validation(f"{name} is a HubSpot-defined property; only its label, description and options "
                                 "can change", code="READ_ONLY_DEFINITION")
            if "options" in body:
                prop.options = _options(body["options"])
            prop.label = str(body.get("label", prop.label))
            prop.description = str(body.get("description", prop.description))
            return describe(store, prop)

    @route(router, "DELETE", PREFIX + "/{name}")
    async def archive(object_type: str, name: str, request: Request) -> Response:
        store, kind = portal_of(request).store, object_type_of(object_type)
        with store.lock:
            prop = existing(store, kind, name)
            if prop.hubspot_defined:
                raise validation(f"{name} is a HubSpot-defined property and cannot be archived")
            prop.archived = True
        return Response(status_code=204)

    return router
