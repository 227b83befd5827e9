"""Write-back: batch upserts (contacts by email, everything by the unique `crmsync_id` property otherwise),
updates by id for records HubSpot already has, then default associations; delete items are archived in
batch. One WriteResult per item, in input order.

Rows are matched to results by `objectWriteTraceId` (the item's index), so a 207 multi-status answer maps
row by row. A CONFLICT ("already exists") row is resolved to the existing record, which is then updated:
the record exists, so it is not a failure; unless that record is another crmsync record's (its
`crmsync_id` differs): writing into it would merge two records silently, so the item is held with the
field and the record named. When HubSpot refuses a whole batch (one bad value fails every row), the rows
are sent one by one so each gets its own verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crmsync.connectors.base import AuthenticationError, ConnectorError, TransientError, WriteItem, WriteResult
from crmsync.connectors.hubspot.client import HubSpotClient, error_details
from crmsync.connectors.hubspot.streams import StreamCatalog

log = logging.getLogger("crmsync.connectors.hubspot")
CONFLICT_CATEGORIES = frozenset({"CONFLICT", "OBJECT_ALREADY_EXISTS"})
RETRYABLE_CATEGORIES = frozenset({"RATE_LIMITS", "INTERNAL_ERROR", "TIMEOUT"})
Row = tuple[int, WriteItem, dict[str, Any]]


def wire_value(value: Any) -> str:
    """HubSpot property values are strings; dates are UTC midnight, datetimes ISO-8601."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple | set):
        return ";".join(str(part) for part in value)
    return str(value)


def _linked_ids(raw: Any) -> list[str]:
    """Association targets from a payload: a list, a `{"0": id}` dict (mapping paths) or one id."""
    if isinstance(raw, Mapping):
        return [str(v) for _, v in sorted(raw.items()) if v not in (None, "")]
    if isinstance(raw, list | tuple):
        return [str(v) for v in raw if v not in (None, "")]
    return [] if raw in (None, "") else [str(raw)]


class HubSpotWriter:
    def __init__(self, client: HubSpotClient, catalog: StreamCatalog) -> None:
        self.client, self.catalog, self.settings = client, catalog, client.settings
        self._unique_ready: set[str] = set()

    def ensure_unique_property(self, stream: str) -> None:
        """Define the unique `crmsync_id` property on this object type when the portal lacks it."""
        name = self.settings.unique_property
        if stream in self._unique_ready:
            return
        if name not in self.catalog.definitions(stream, refresh=True):
            if not self.settings.create_unique_property:
                raise ConnectorError(f"hubspot {self.catalog.connection}: {stream} has no property {name}; create it "
                                     "as a unique-value text property or set create_unique_property")
            body = {"name": name, "label": "crmsync id", "type": "string", "fieldType": "text",
                    "groupName": f"{stream[:-1] if stream != 'companies' else 'company'}information",
                    "hasUniqueValue": True, "description": "Canonical record id kept by crmsync"}
            try:
                self.client.call(f"creating the {name} property on {stream}", self.client.properties.create, stream,
                                 body)
            except ConnectorError as exc:
                _, details, _ = error_details(exc.__cause__) if exc.__cause__ else (0, {}, {})
                if details.get("category") not in CONFLICT_CATEGORIES:  # created meanwhile by someone else: fine
                    raise
            self.catalog.definitions(stream, refresh=True)
        self._unique_ready.add(stream)

    def _row(self, stream: str, index: int, item: WriteItem) -> tuple[str, dict[str, Any]]:
        """(id property to upsert on, or "" for an update by id; the batch input)."""
        raw = item.payload.get("properties") or {}
        properties = {key: wire_value(value) for key, value in raw.items() if value is not None}
        properties[self.settings.unique_property] = item.canonical_id
        trace = str(index)
        if item.external_id is not None:
            return "", {"id": item.external_id, "properties": properties, "objectWriteTraceId": trace}
        if stream == "contacts" and properties.get("email"):
            return "email", {"idProperty": "email", "id": properties["email"], "properties": properties,
                             "objectWriteTraceId": trace}
        unique = self.settings.unique_property
        return unique, {"idProperty": unique, "id": item.canonical_id, "properties": properties,
                        "objectWriteTraceId": trace}

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        size = self.settings.write_batch_size
        # A delete of a record never written here has nothing to archive.
        archive = [(index, item) for index, item in enumerate(items) if item.delete and item.external_id is not None]
        results |= {index: WriteResult(item.canonical_id, ok=True) for index, item in enumerate(items)
                    if item.delete and item.external_id is None}
        for offset in range(0, len(archive), size):
            self._archive(stream, archive[offset:offset + size], results)
        groups: dict[str, list[Row]] = {}
        for index, item in enumerate(items):
            if not item.delete:
                id_property, row = self._row(stream, index, item)
                groups.setdefault(id_property, []).append((index, item, row))
        if groups:
            self.ensure_unique_property(stream)
        for id_property, rows in groups.items():
            for offset in range(0, len(rows), size):
                self._send(stream, id_property, rows[offset:offset + size], results)
        self._associate(stream, items, results)
        return [results[index] for index in range(len(items))]

    def _archive(self, stream: str, rows: list[tuple[int, WriteItem]], results: dict[int, WriteResult]) -> None:
        """Archive (HubSpot's delete, restorable for 90 days); an id already archived or gone answers 204 too."""
        body = {"inputs": [{"id": item.external_id} for _, item in rows]}
        try:
            self.client.call(f"archiving {len(rows)} {stream}", self.client.batch.archive, stream, body)
        except (TransientError, AuthenticationError):
            raise
        except ConnectorError as exc:
            if len(rows) > 1:
                for row in rows:
                    self._archive(stream, [row], results)
                return
            index, item = rows[0]
            results[index] = WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=str(exc))
            return
        for index, item in rows:
            results[index] = WriteResult(item.canonical_id, ok=True, external_id=item.external_id)

    def _send(self, stream: str, id_property: str, rows: list[Row], results: dict[int, WriteResult]) -> None:
        method = self.client.batch.upsert if id_property else self.client.batch.update
        doing = f"{'upserting' if id_property else 'updating'} {len(rows)} {stream}"
        try:
            response = self.client.call(doing, method, stream, {"inputs": [row for *_, row in rows]})
        except (TransientError, AuthenticationError):
            raise
        except ConnectorError as exc:
            if len(rows) > 1:  # one bad row fails HubSpot's whole batch: let each row speak for itself
                for row in rows:
                    self._send(stream, id_property, [row], results)
                return
            index, item, row = rows[0]
            _, body, _ = error_details(exc.__cause__) if exc.__cause__ else (0, {}, {})
            if body.get("category") in CONFLICT_CATEGORIES:  # a 409 for the whole (one-row) request
                results[index] = self._resolve_conflict(stream, item, row, body.get("context") or {}, str(exc))
                return
            results[index] = WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=str(exc))
            return
        by_trace = {int(obj.object_write_trace_id): obj for obj in response.results
                    if getattr(obj, "object_write_trace_id", None) is not None}
        failures = {int(trace): error for error in getattr(response, "errors", None) or []
                    for trace in (error.context or {}).get("objectWriteTraceId", [])}
        for index, item, row in rows:
            if index in by_trace:
                obj = by_trace[index]
                results[index] = WriteResult(item.canonical_id, ok=True, external_id=str(obj.id),
                                             created=bool(getattr(obj, "new", False)))
            elif index in failures and failures[index].category in CONFLICT_CATEGORIES:
                error = failures[index]
                results[index] = self._resolve_conflict(stream, item, row, error.context or {},
                                                        f"{error.category}: {error.message}")
            else:
                error = failures.get(index)
                message = f"{error.category}: {error.message}" if error else "HubSpot returned no result for this row"
                results[index] = WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=message,
                                             retryable=error is None or error.category in RETRYABLE_CATEGORIES)

    def _resolve_conflict(self, stream: str, item: WriteItem, row: dict[str, Any], context: Mapping[str, Any],
                          why: str) -> WriteResult:
        """The record already exists: find it (by the conflict's existing id, else by a unique property) and
        update it instead, unless it is another crmsync record's: then hold the item."""
        properties, unique = row["properties"], self.settings.unique_property
        clashing = [str(name) for name in context.get("propertyName", [])]
        existing = [str(i) for i in context.get("existingId", [])]
        key, value = ("email", properties.get("email")) if properties.get("email") else (unique, item.canonical_id)
        body: dict[str, Any] = {"properties": list(dict.fromkeys([unique, key, *clashing]))}
        body |= {"inputs": [{"id": existing[0]}]} if existing else {"idProperty": key, "inputs": [{"id": value}]}
        response = self.client.call_json(f"finding the existing {stream} record", self.client.batch.read, stream,
                                         body, archived=False)
        found = response.get("results") or []
        if not found:
            return WriteResult(item.canonical_id, ok=False, external_id=item.external_id,
                               error=f"{why} (and the existing record was not found)")
        holder, owner = str(found[0]["id"]), (found[0].get("properties") or {}).get(unique)
        if owner and owner != item.canonical_id:
            return self._held(stream, item, holder, owner, clashing or [key], properties)
        log.info("hubspot %s: %s %s already existed as %s; updating it", self.catalog.connection, stream,
                 item.canonical_id, holder)
        update = {"inputs": [{"id": holder, "properties": properties, "objectWriteTraceId": "0"}]}
        try:  # a 207 carries the row's error in the body; a whole-request refusal raises
            answer = self.client.call_json(f"updating the existing {stream} record", self.client.batch.update,
                                           stream, update)
            failure: dict[str, Any] = (answer.get("errors") or [{}])[0]
            refusal = f"{failure.get('category')}: {failure.get('message')}" if failure else None
        except (TransientError, AuthenticationError):
            raise
        except ConnectorError as exc:
            _, failure, _ = error_details(exc.__cause__) if exc.__cause__ else (0, {}, {})
            refusal = str(exc)
        if refusal is None:
            return WriteResult(item.canonical_id, ok=True, external_id=holder, created=False)
        # E.g. its new value is taken by yet another record: this row cannot be written as it stands.
        taken = failure.get("context") or {}
        if failure.get("category") in CONFLICT_CATEGORIES and taken.get("existingId"):
            names = [str(name) for name in taken.get("propertyName", [])] or [key]
            return self._held(stream, item, str(taken["existingId"][0]), None, names, properties)
        return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=refusal)

    def _held(self, stream: str, item: WriteItem, holder: str, owner: str | None, names: list[str],
              properties: Mapping[str, Any]) -> WriteResult:
        """HubSpot cannot hold this record as it stands: another record there has its unique value."""
        clash = ", ".join(f"{name}={properties.get(name)!r}" for name in names)
        whose = f"crmsync record {owner}" if owner else "another record"
        return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, held=True, error=(
            f"HubSpot {stream} {holder} ({whose}) already has {clash}, which must be unique; writing this record "
            "there would merge the two. Merge or correct them in crmsync (or change the value in HubSpot); the "
            "next change of this record tries again"))

    def _associate(self, stream: str, items: Sequence[WriteItem], results: dict[int, WriteResult]) -> None:
        pairs: dict[str, list[tuple[int, str]]] = {}
        for index, item in enumerate(items):
            links = item.payload.get("associations") or {}
            if not results[index].ok or not isinstance(links, Mapping):
                continue
            for to_type, raw in links.items():
                pairs.setdefault(to_type, []).extend((index, to_id) for to_id in _linked_ids(raw))
        for to_type, wanted in pairs.items():
            for offset in range(0, len(wanted), self.settings.write_batch_size):
                chunk = wanted[offset:offset + self.settings.write_batch_size]
                inputs = [{"from": {"id": results[index].external_id}, "to": {"id": to_id}} for index, to_id in chunk]
                try:
                    response = self.client.call_json(f"associating {stream} with {to_type}",
                                                     self.client.associations.create_default, stream, to_type,
                                                     {"inputs": inputs})
                except ConnectorError as exc:
                    if isinstance(exc, TransientError | AuthenticationError):
                        raise
                    self._association_failed(results, chunk, to_type, str(exc))
                    continue
                linked = {(str(row["from"]["id"]), str(row["to"]["id"])) for row in response.get("results", [])}
                errors = response.get("errors") or []
                failed = [(index, to_id) for index, to_id in chunk if (results[index].external_id, to_id) not in linked]
                if failed:
                    why = "; ".join(f"{e.get('category')}: {e.get('message')}" for e in errors) or "no result"
                    self._association_failed(results, failed, to_type, why)

    @staticmethod
    def _association_failed(results: dict[int, WriteResult], rows: list[tuple[int, str]], to_type: str,
                            why: str) -> None:
        for index, to_id in rows:
            done = results[index]
            results[index] = WriteResult(done.canonical_id, ok=False, external_id=done.external_id,
                                         created=done.created,
                                         error=f"written, but associating it with {to_type} {to_id} failed: {why}")
