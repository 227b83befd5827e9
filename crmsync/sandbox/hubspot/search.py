"""CRM search: filterGroups (OR) of filters (AND), one sort, `limit` ≤ 200 and the 10,000-result cap.

Filters on the object's modified timestamp (and on hs_object_id within one timestamp) become bisects on
the (modified, id) index; any other filter is checked record by record over that range only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crmsync.sandbox.hubspot.bodies import property_names, render
from crmsync.sandbox.hubspot.errors import validation
from crmsync.sandbox.hubspot.schema import OBJECT_TYPES, PropertyDef
from crmsync.sandbox.hubspot.store import HubRecord, PortalStore
from crmsync.sandbox.hubspot.values import comparable, parse_time_ms

SEARCH_CAP = 10_000
MAX_LIMIT = 200
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
RANGE_OPERATORS = frozenset({"EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"})
TEXT_PROPERTIES = {"contacts": ("firstname", "lastname", "email", "phone", "company"),
                   "companies": ("name", "domain", "website", "phone"), "deals": ("dealname",),
                   "calls": ("hs_call_title", "hs_call_body")}
Key = tuple[int, int]


def _bounds(keys: list[Key], filters: list[Mapping[str, Any]], modified: str) -> tuple[int, int, list[Any]]:
    """Index slice [start, end) the range filters allow, and the filters left to check per record."""
    start, end, rest, exact = 0, len(keys), [], None
    for item in filters:
        operator, name = item.get("operator"), item.get("propertyName")
        value = parse_time_ms(item.get("value")) if name == modified and operator in RANGE_OPERATORS else None
        if value is None:
            rest.append(item)
            continue
        if operator in ("GT", "GTE", "EQ", "BETWEEN"):
            start = max(start, bisect_left(keys, (value + (operator == "GT"), -1)))
        if operator in ("LT", "LTE", "EQ", "BETWEEN"):
            high = parse_time_ms(item.get("highValue")) if operator == "BETWEEN" else value
            if high is None:
                raise validation("BETWEEN needs highValue")
            end = min(end, bisect_left(keys, (high + (operator != "LT"), -1)))
        exact = value if operator == "EQ" else exact
    if exact is None:
        return start, end, rest
    left = []  # within one timestamp the index is ordered by id: hs_object_id bounds bisect too
    for item in rest:
        raw = item.get("value")
        if item.get("propertyName") != "hs_object_id" or not str(raw).isdigit():
            left.append(item)
            continue
        object_id, operator = int(str(raw)), item.get("operator")
        if operator in ("GT", "GTE", "EQ"):
            start = max(start, bisect_left(keys, (exact, object_id + (operator == "GT"))))
        if operator in ("LT", "LTE", "EQ"):
            end = min(end, bisect_left(keys, (exact, object_id + (operator != "LT"))))
        if operator not in ("GT", "GTE", "EQ", "LT", "LTE"):
            left.append(item)
    return start, end, left


def _value(record: HubRecord, name: str, prop: PropertyDef | None, modified: str) -> Any:
    if name == "hs_object_id":
        return float(record.id)
    if name == modified:
        return record.modified_ms
    return comparable(prop, record.properties.get(name))


def _predicate(store: PortalStore, object_type: str, item: Mapping[str, Any]) -> Callable[[HubRecord], bool]:
    name, operator = str(item.get("propertyName", "")), item.get("operator")
    prop = store.property(object_type, name)
    modified = OBJECT_TYPES[object_type].modified_property
    typed = prop if name not in ("hs_object_id",) else PropertyDef(name, "number")

    def want(raw: Any) -> Any:
        return comparable(typed, raw)

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        has = operator == "HAS_PROPERTY"
        return lambda r: (_value(r, name, prop, modified) is not None) == has
    if operator in ("IN", "NOT_IN"):
        wanted = {want(v) for v in item.get("values") or []}
        inside = operator == "IN"
        return lambda r: (_value(r, name, prop, modified) in wanted) == inside
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token, contains = str(item.get("value", "")).lower().strip("*"), operator == "CONTAINS_TOKEN"
        return lambda r: (token in str(r.properties.get(name, "")).lower()) == contains
    target = want(item.get("value"))
    high = want(item.get("highValue"))
    compare: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == target, "NEQ": lambda v: v != target,
        "LT": lambda v: v is not None and v < target, "LTE": lambda v: v is not None and v <= target,
        "GT": lambda v: v is not None and v > target, "GTE": lambda v: v is not None and v >= target,
        "BETWEEN": lambda v: v is not None and target <= v <= high,
    }
    if operator not in compare:
        raise validation(f"unknown filter operator {operator!r}")
    if target is None and operator != "NEQ":
        raise validation(f"filter on {name} with operator {operator} needs a value")
    test = compare[str(operator)]
    return lambda r: test(_value(r, name, prop, modified))


def _matches(store: PortalStore, object_type: str, groups: Sequence[Mapping[str, Any]], query: str) -> list[Key]:
    table = store.tables[object_type]
    keys, modified = table.by_modified, OBJECT_TYPES[object_type].modified_property
    found: set[Key] | list[Key] = [] if len(groups) <= 1 else set()
    for group in groups or [{"filters": []}]:
        start, end, rest = _bounds(keys, list(group.get("filters") or []), modified)
        candidates = keys[start:end]
        if rest:
            checks = [_predicate(store, object_type, item) for item in rest]
            candidates = [k for k in candidates if all(check(table.rows[k[1]]) for check in checks)]
        if isinstance(found, set):
            found.update(candidates)
        else:
            found = candidates
    matched = sorted(found) if isinstance(found, set) else found
    if query:
        tokens = query.lower().split()
        fields = TEXT_PROPERTIES[object_type]
        matched = [k for k in matched if all(any(str(table.rows[k[1]].properties.get(f, "")).lower().startswith(t)
                                                 or t in str(table.rows[k[1]].properties.get(f, "")).lower()
                                                 for f in fields) for t in tokens)]
    return matched


def _sorted(store: PortalStore, object_type: str, keys: list[Key], sorts: Sequence[Any]) -> list[Key]:
    if not sorts:
        return sorted(keys, key=lambda k: k[1])
    first = sorts[0]
    if isinstance(first, str):  # "-name" or "name": the string form the SDK's model declares
        name, descending = first.lstrip("-"), first.startswith("-")
    else:
        name = str(first.get("propertyName"))
        descending = str(first.get("direction", "ASCENDING")).upper() == "DESCENDING"
    if name == OBJECT_TYPES[object_type].modified_property:
        return keys[::-1] if descending else keys
    if name == "hs_object_id":
        return sorted(keys, key=lambda k: k[1], reverse=descending)
    prop, rows = store.property(object_type, name), store.tables[object_type].rows

    def by_value(key: Key) -> tuple[bool, Any, int]:
        value = comparable(prop, rows[key[1]].properties.get(name))
        return (value is None, value if value is not None else 0, key[1])

    return sorted(keys, key=by_value, reverse=descending)


def search(store: PortalStore, object_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    limit, after = body.get("limit", 10), str(body.get("after") or "0")
    if not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise validation(f"limit must be between 1 and {MAX_LIMIT}, got {limit!r}")
    if not after.isdigit():
        raise validation(f"after must be a paging offset from an earlier response, got {after!r}")
    offset = int(after)
    if offset >= SEARCH_CAP:
        raise validation(f"Search results are limited to {SEARCH_CAP} records per query (after={offset}); "
                         "narrow the filters, for example by a time window", context={"after": [after]})
    groups = list(body.get("filterGroups") or [])
    filters = sum(len(g.get("filters") or []) for g in groups)
    if len(groups) > MAX_GROUPS or filters > MAX_FILTERS or any(
            len(g.get("filters") or []) > MAX_FILTERS_PER_GROUP for g in groups):
        raise validation(f"too many filters: at most {MAX_GROUPS} filterGroups, {MAX_FILTERS_PER_GROUP} filters "
                         f"per group and {MAX_FILTERS} in total")
    with store.lock:
        keys = _sorted(store, object_type, _matches(store, object_type, groups, str(body.get("query") or "")),
                       list(body.get("sorts") or []))
        names = property_names(store, object_type, body.get("properties"))
        rows = store.tables[object_type].rows
        page = [render(store, rows[k[1]], names) for k in keys[offset:offset + limit]]
    result: dict[str, Any] = {"total": len(keys), "results": page}
    if offset + limit < len(keys):
        # Like HubSpot, offer the next page even when it lies beyond the cap (asking for it is a 400).
        result["paging"] = {"next": {"after": str(offset + limit)}}
    return result
