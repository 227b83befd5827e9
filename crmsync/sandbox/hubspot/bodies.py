"""How records look on the wire (SimplePublicObject and friends) and the query quirks of the SDK."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import QueryParams

from crmsync.sandbox.hubspot.errors import validation
from crmsync.sandbox.hubspot.relations import associated
from crmsync.sandbox.hubspot.schema import OBJECT_TYPES, object_type_name
from crmsync.sandbox.hubspot.store import HubRecord, PortalStore
from crmsync.sandbox.hubspot.values import iso


def property_names(store: PortalStore, object_type: str, requested: Sequence[str] | None) -> list[str]:
    """The properties a response carries: the requested ones (or the type's defaults) plus the stamps."""
    spec = OBJECT_TYPES[object_type]
    names = list(requested) if requested else list(spec.default_properties)
    return list(dict.fromkeys([*names, spec.created_property, spec.modified_property, "hs_object_id"]))


def render(store: PortalStore, record: HubRecord, names: Iterable[str],
           associations: Sequence[str] = ()) -> dict[str, Any]:
    """One record; properties asked for but unset come back as null, as HubSpot does."""
    props = record.properties
    body: dict[str, Any] = {
        "id": str(record.id),
        "properties": {name: props.get(name) for name in names},
        "createdAt": iso(record.created_ms),
        "updatedAt": iso(record.modified_ms),
        "archived": record.archived,
    }
    if record.archived and record.archived_ms is not None:
        body["archivedAt"] = iso(record.archived_ms)
    linked: dict[str, Any] = {}
    for to_type in associations:
        links = associated(store, record.object_type, record.id, to_type)
        if links:
            linked[to_type] = {"results": [
                {"id": str(to_id), "type": f"{OBJECT_TYPES[record.object_type].singular}_to_"
                                           f"{OBJECT_TYPES[to_type].singular}"} for to_id, _ in links]}
    if linked:
        body["associations"] = linked
    return body


def list_param(query: QueryParams, name: str) -> list[str]:
    """Repeated keys (`properties=a&properties=b`, the SDK's style) and comma lists, both."""
    return [part.strip() for value in query.getlist(name) for part in value.split(",") if part.strip()]


def bool_param(query: QueryParams, name: str, default: bool = False) -> bool:
    """`true`/`True`/`false`/`False`: the SDK sends Python's spelling of booleans."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise validation(f"query parameter {name} must be true or false, not {raw!r}")
    return lowered == "true"


def int_param(query: QueryParams, name: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise validation(f"{name} must be a whole number between 1 and {maximum}, not {raw!r}")
    return int(raw)


def association_types(store: PortalStore, names: Iterable[str]) -> list[str]:
    types = []
    for name in names:
        resolved = object_type_name(name)
        if resolved is None:
            raise validation(f"unknown object type {name!r} in associations")
        types.append(resolved)
    return types


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def batch_response(results: list[Any], errors: list[dict[str, Any]], ok_status: int = 200) -> JSONResponse:
    """A batch answer: `ok_status` when every input worked, else 207 multi-status with `errors`."""
    started = _now()
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": _now()}
    if errors:
        body |= {"numErrors": len(errors), "errors": errors}
    return JSONResponse(body, status_code=207 if errors else ok_status)
