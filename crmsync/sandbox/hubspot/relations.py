"""Associations (v4, both directions with HubSpot's default type ids) and record merges.

A contact merge gives the surviving record a new id, as HubSpot does; for other objects the primary keeps
its id. Either way the merged-away ids resolve to the survivor, which lists them in `hs_merged_object_ids`.
"""

from __future__ import annotations

from crmsync.sandbox.hubspot.errors import validation
from crmsync.sandbox.hubspot.schema import DEFAULT_ASSOCIATIONS, OBJECT_TYPES, PRIMARY_ASSOCIATIONS
from crmsync.sandbox.hubspot.store import ChangeEvent, HubRecord, PortalStore, remove_sorted

Endpoint = tuple[str, int]


def default_type_id(from_type: str, to_type: str) -> int:
    try:
        return DEFAULT_ASSOCIATIONS[(from_type, to_type)]
    except KeyError:
        raise validation(f"no association is defined between {from_type} and {to_type}",
                         code="INVALID_ASSOCIATION") from None


def _reverse_type_id(from_type: str, to_type: str, type_id: int) -> int:
    if PRIMARY_ASSOCIATIONS.get((from_type, to_type)) == type_id:
        return PRIMARY_ASSOCIATIONS[(to_type, from_type)]
    return DEFAULT_ASSOCIATIONS[(to_type, from_type)]


def _valid_type_ids(from_type: str, to_type: str) -> set[int]:
    ids = {default_type_id(from_type, to_type)}
    if (from_type, to_type) in PRIMARY_ASSOCIATIONS:
        ids.add(PRIMARY_ASSOCIATIONS[(from_type, to_type)])
    return ids


def associate(store: PortalStore, source: HubRecord, target: HubRecord, type_ids: list[int] | None = None) -> None:
    """Link two live records (both directions); unknown type ids are a VALIDATION_ERROR."""
    ids = set(type_ids or [default_type_id(source.object_type, target.object_type)])
    unknown = ids - _valid_type_ids(source.object_type, target.object_type)
    if unknown:
        raise validation(f"association type id(s) {sorted(unknown)} do not link {source.object_type} to "
                         f"{target.object_type}", code="INVALID_ASSOCIATION_TYPE")
    with store.lock:
        forward = store.associations.setdefault((source.object_type, source.id), {})
        backward = store.associations.setdefault((target.object_type, target.id), {})
        added = ids - forward.get((target.object_type, target.id), set())
        forward.setdefault((target.object_type, target.id), set()).update(ids)
        backward.setdefault((source.object_type, source.id), set()).update(
            _reverse_type_id(source.object_type, target.object_type, i) for i in ids)
        if added:
            store.emit(ChangeEvent(source.object_type, "associationChange", source.id, extra={
                "fromObjectId": source.id, "toObjectId": target.id, "associationRemoved": False,
                "associationType": f"{OBJECT_TYPES[source.object_type].singular}_TO_"
                                   f"{OBJECT_TYPES[target.object_type].singular}".upper()}))


def disassociate(store: PortalStore, source: HubRecord, target: HubRecord) -> None:
    with store.lock:
        removed = store.associations.get((source.object_type, source.id), {}).pop((target.object_type, target.id),
                                                                                    None)
        store.associations.get((target.object_type, target.id), {}).pop((source.object_type, source.id), None)
        if removed:
            store.emit(ChangeEvent(source.object_type, "associationChange", source.id, extra={
                "fromObjectId": source.id, "toObjectId": target.id, "associationRemoved": True,
                "associationType": f"{OBJECT_TYPES[source.object_type].singular}_TO_"
                                   f"{OBJECT_TYPES[target.object_type].singular}".upper()}))


def associated(store: PortalStore, object_type: str, object_id: int, to_type: str) -> list[tuple[int, set[int]]]:
    """(to id, type ids) of the live records of `to_type` linked to this one, by id."""
    links = store.associations.get((object_type, object_id), {})
    table = store.tables[to_type]
    return sorted((to_id, set(ids)) for (kind, to_id), ids in links.items()
                  if kind == to_type and to_id in table.rows and not table.rows[to_id].archived)


def _move_links(store: PortalStore, old: Endpoint, new: Endpoint) -> None:
    links = store.associations.pop(old, {})
    mine = store.associations.setdefault(new, {})
    for other, ids in links.items():
        if other == new:
            continue
        mine.setdefault(other, set()).update(ids)
        theirs = store.associations.setdefault(other, {})
        theirs.setdefault(new, set()).update(theirs.pop(old, set()))


def merge(store: PortalStore, object_type: str, primary_id: str, merged_id: str) -> HubRecord:
    """Merge `merged_id` into `primary_id`; returns the survivor (a new id for contacts)."""
    with store.lock:
        primary, secondary = store.live(object_type, primary_id), store.live(object_type, merged_id)
        if primary.id == secondary.id:
            raise validation("cannot merge a record into itself", code="INVALID_MERGE")
        table, unique = store.tables[object_type], store.unique_names(object_type)
        history = [*_merged_ids(primary), *_merged_ids(secondary), primary.id, secondary.id]
        values = {k: v for k, v in secondary.properties.items() if v} | {
            k: v for k, v in primary.properties.items() if v}
        for record in (primary, secondary):
            table.unindex(record, unique)
        spec = OBJECT_TYPES[object_type]
        for name in (spec.created_property, spec.modified_property, "hs_object_id"):
            values.pop(name, None)
        values["hs_merged_object_ids"] = ";".join(str(i) for i in sorted(set(history)))
        if object_type == "contacts":
            for record in (primary, secondary):
                _drop(store, record)
            survivor = store._insert(object_type, values, store.now_ms())
        else:
            _drop(store, secondary)
            primary.properties = values | {name: primary.properties[name] for name in
                                           (spec.created_property, "hs_object_id")}
            store._stamp(object_type, primary, store.now_ms())
            table.index(primary, unique)
            survivor = primary
        for old in {primary.id, secondary.id} - {survivor.id}:
            store.redirects[(object_type, old)] = survivor.id
            _move_links(store, (object_type, old), (object_type, survivor.id))
        store.emit(ChangeEvent(object_type, "merge", survivor.id, extra={
            "primaryObjectId": primary.id, "mergedObjectIds": [secondary.id], "newObjectId": survivor.id,
            "numberOfPropertiesMoved": len(values)}))
        return survivor


def _merged_ids(record: HubRecord) -> list[int]:
    raw = record.properties.get("hs_merged_object_ids", "")
    return [int(part) for part in raw.split(";") if part.isdigit()]


def _drop(store: PortalStore, record: HubRecord) -> None:
    table = store.tables[record.object_type]
    table.rows.pop(record.id, None)
    remove_sorted(table.live_ids, record.id)


def target_type(from_type: str, type_id: int) -> str:
    """The object type a HUBSPOT_DEFINED association type id from `from_type` points at."""
    for (source, target), known in [*DEFAULT_ASSOCIATIONS.items(), *PRIMARY_ASSOCIATIONS.items()]:
        if source == from_type and known == type_id:
            return target
    raise validation(f"association type id {type_id} does not start at {from_type}", code="INVALID_ASSOCIATION_TYPE")
