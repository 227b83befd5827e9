"""What a HubSpot stream reads and how a CRM object becomes a SourceRecord.

Properties: the ones the mapping file reads, every custom property the portal defines (so a mapping can use
`custom.<name>` without code changes) and the stamps the cursor and merges need. Associations are read in
batch per page and land in the payload as `associations: {companies: [ids, primary first]}`, so mapping
`ref` rules can link contact→company, deal→company and call→contact/deal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from crmsync.connectors.base import ConnectorError
from crmsync.connectors.hubspot.client import HubSpotClient
from crmsync.connectors.hubspot.cursor import from_ms, parse_hubspot_time, to_ms
from crmsync.mappings.loader import mapping_files
from crmsync.mappings.schema import MappingFile
from crmsync.sync_engine.records import SourceRecord

log = logging.getLogger("crmsync.connectors.hubspot")

STREAMS = ("contacts", "companies", "deals", "calls")
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
                     "deals": "hs_lastmodifieddate", "calls": "hs_lastmodifieddate"}
ASSOCIATED = {"contacts": ("companies",), "companies": (), "deals": ("companies", "contacts"),
              "calls": ("contacts", "deals")}
PRIMARY_TYPE_IDS = frozenset({1, 5})  # contact→company and deal→company "primary" labels
MERGED_PROPERTY = "hs_merged_object_ids"
ASSOCIATION_READ_BATCH = 1000


def mapped_properties(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The HubSpot properties each object's mapping reads (`properties.<name>` sources of in/both rules)."""
    raw = yaml.safe_load((path or mapping_files()["hubspot"]).read_text(encoding="utf-8"))
    names: dict[str, tuple[str, ...]] = {}
    for object_name, obj in MappingFile.model_validate(raw).objects.items():
        found = []
        for rule in obj.fields:
            sources = [rule.source] if isinstance(rule.source, str) else rule.source or []
            found += [s.split(".", 1)[1] for s in sources if s.startswith("properties.") and rule.direction != "out"]
        names[object_name] = tuple(dict.fromkeys(found))
    return names


def merged_ids(properties: Mapping[str, Any]) -> list[str]:
    """Ids merged into this record (HubSpot keeps them `;`-separated in hs_merged_object_ids)."""
    return [part for part in str(properties.get(MERGED_PROPERTY) or "").split(";") if part.strip()]


class StreamCatalog:
    """Per-stream property lists (from the properties API, cached) and object → SourceRecord."""

    def __init__(self, client: HubSpotClient, connection: str, mapped: Mapping[str, Sequence[str]]) -> None:
        self.client, self.connection, self.mapped = client, connection, mapped
        self._definitions: dict[str, dict[str, Any]] = {}

    def definitions(self, stream: str, *, refresh: bool = False) -> dict[str, Any]:
        """name → property definition, as the portal has them now."""
        if refresh or stream not in self._definitions:
            response = self.client.call(f"reading the {stream} properties", self.client.properties.get_all, stream,
                                        archived=False)
            self._definitions[stream] = {prop.name: prop for prop in response.results}
        return self._definitions[stream]

    def custom_properties(self, stream: str) -> list[str]:
        return sorted(name for name, prop in self.definitions(stream).items() if not prop.hubspot_defined)

    def properties(self, stream: str) -> list[str]:
        defined = self.definitions(stream)
        wanted = [MODIFIED_PROPERTY[stream], "hs_object_id", MERGED_PROPERTY, *self.mapped.get(stream, ()),
                  *self.custom_properties(stream)]
        missing = [name for name in self.mapped.get(stream, ()) if name not in defined]
        if missing:
            log.debug("hubspot %s: %s has no propert(ies) %s; not read", self.connection, stream, ", ".join(missing))
        return [name for name in dict.fromkeys(wanted) if name in defined]

    def associations(self, stream: str, ids: Sequence[str]) -> dict[str, dict[str, list[str]]]:
        """id → {to type: associated ids, primary first}, for every association type the stream carries."""
        found: dict[str, dict[str, list[str]]] = {record_id: {} for record_id in ids}
        for to_type in ASSOCIATED[stream]:
            for offset in range(0, len(ids), ASSOCIATION_READ_BATCH):
                chunk = [{"id": record_id} for record_id in ids[offset:offset + ASSOCIATION_READ_BATCH]]
                response = self.client.call_json(f"reading {stream}→{to_type} associations",
                                                 self.client.associations.get_page, stream, to_type, {"inputs": chunk})
                for row in response.get("results", []):
                    links = sorted(row.get("to", []), key=lambda link: (
                        not any(t.get("typeId") in PRIMARY_TYPE_IDS for t in link.get("associationTypes", [])),
                        int(link["toObjectId"])))
                    found.setdefault(str(row["from"]["id"]), {})[to_type] = [str(link["toObjectId"]) for link in links]
        return found

    def record(self, stream: str, obj: Mapping[str, Any], links: Mapping[str, list[str]] | None = None
               ) -> SourceRecord:
        """One CRM object as the API returned it (JSON) → SourceRecord; archived objects are deletes."""
        properties = dict(obj.get("properties") or {})
        archived = bool(obj.get("archived"))
        modified_at = from_ms(modified_ms(stream, obj))
        payload = {
            "id": str(obj["id"]), "properties": properties, "createdAt": obj.get("createdAt"),
            "updatedAt": obj.get("updatedAt"), "archived": archived,
            "associations": {to_type: list(ids) for to_type, ids in (links or {}).items()},
            "merged_ids": merged_ids(properties),
        }
        if archived and obj.get("archivedAt"):
            payload["archivedAt"] = obj["archivedAt"]
            modified_at = parse_hubspot_time(obj["archivedAt"])
        return SourceRecord(system="hubspot", object=stream, external_id=str(obj["id"]), modified_at=modified_at,
                            payload=payload, deleted=archived, connection=self.connection)

    def records(self, stream: str, objects: Iterable[Mapping[str, Any]]) -> list[SourceRecord]:
        objects = list(objects)
        ids = [str(obj["id"]) for obj in objects]
        links = self.associations(stream, ids) if objects and ASSOCIATED[stream] else {}
        return [self.record(stream, obj, links.get(str(obj["id"]))) for obj in objects]

    def fetch(self, stream: str, ids: Sequence[str], batch_size: int) -> list[SourceRecord]:
        """Current state of records by id (thin webhook notices); archived ones come back as deletes, and a
        merged-away id comes back as the record it was merged into."""
        names, found, missing = self.properties(stream), [], list(dict.fromkeys(ids))
        for archived in (False, True):
            wanted, missing = missing, []
            for offset in range(0, len(wanted), batch_size):
                chunk = wanted[offset:offset + batch_size]
                body = {"properties": names, "inputs": [{"id": record_id} for record_id in chunk]}
                response = self.client.call_json(f"fetching {stream} by id", self.client.batch.read, stream, body,
                                                 archived=archived)
                results = response.get("results", [])
                returned = {str(obj["id"]) for obj in results}
                found += results
                errors = response.get("errors") or []
                absent = {str(i) for e in errors for i in (e.get("context") or {}).get("ids", [])}
                missing += [i for i in chunk if i in absent or (i not in returned and not errors)]
            if not missing:
                break
        unique = {str(obj["id"]): obj for obj in found}
        return self.records(stream, unique.values())

    def check_stream(self, stream: str) -> None:
        if stream not in STREAMS:
            raise ConnectorError(f"hubspot {self.connection} has no stream {stream!r}; streams: {', '.join(STREAMS)}")


def modified_ms(stream: str, obj: Mapping[str, Any]) -> int:
    """The object's modified timestamp in epoch ms (the modified property, else updatedAt)."""
    raw = (obj.get("properties") or {}).get(MODIFIED_PROPERTY[stream]) or obj["updatedAt"]
    return to_ms(parse_hubspot_time(raw))
