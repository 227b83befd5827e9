"""Reading a stream as pages: list-endpoint backfill, incremental search that passes the 10,000 cap, deletes.

Search serves at most 10,000 results per query. An ascending `modified >= watermark` query is therefore
restarted from its last watermark before the cap; when a whole capped query shares one timestamp (more
than 10,000 records changed in the same millisecond), that instant is read in id order instead
(`modified == t AND hs_object_id > floor`, sorted by id), each restart raising the floor. The next offset is
never requested past the cap, so a sync never sees HubSpot's 400 for it.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping
from typing import Any

from crmsync.connectors.base import ConnectorError, StreamPage
from crmsync.connectors.hubspot.client import HubSpotClient
from crmsync.connectors.hubspot.cursor import StreamCursor, parse_hubspot_time, to_ms
from crmsync.connectors.hubspot.streams import (
    MERGED_PROPERTY,
    MODIFIED_PROPERTY,
    StreamCatalog,
    merged_ids,
    modified_ms,
)

log = logging.getLogger("crmsync.connectors.hubspot")


def _next_after(response: Mapping[str, Any]) -> str | None:
    after = ((response.get("paging") or {}).get("next") or {}).get("after")
    return None if after is None else str(after)


def _filter(name: str, operator: str, value: int) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": str(value)}


class StreamReader:
    def __init__(self, client: HubSpotClient, catalog: StreamCatalog) -> None:
        self.client, self.catalog, self.settings = client, catalog, client.settings

    def _search(self, stream: str, groups: list[dict[str, Any]], sort: str, after: str | None,
                limit: int | None = None) -> Any:
        body: dict[str, Any] = {"filterGroups": groups, "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                                "properties": self.catalog.properties(stream),
                                "limit": limit or self.settings.search_page_size}
        if after is not None:
            body["after"] = after
        return self.client.call_json(f"searching {stream}", self.client.search.do_search, stream, body)

    def _next_offset(self, response: Mapping[str, Any]) -> str | None:
        """The next page's offset, or None at the end of the results or at the search cap."""
        after = _next_after(response)
        return after if after is not None and int(after) < self.settings.search_cap else None

    # -- incremental search -------------------------------------------------------------------------
    def search_pages(self, stream: str, cursor: StreamCursor, until_ms: int | None = None) -> Iterator[StreamPage]:
        """Everything modified at or after the cursor (and before `until_ms`), each page with its cursor."""
        while True:
            capped, first, last = yield from self._time_ordered(stream, cursor, until_ms)
            if not capped:
                return
            if first == last:  # a capful at one instant (first is None: found before reading): read it by id
                log.info("hubspot %s: more than %d %s share modification time %s; reading it in id order",
                         self.catalog.connection, self.settings.search_cap, stream, last)
                yield from self._one_instant(stream, cursor, until_ms)

    def _upper(self, stream: str, until_ms: int | None) -> list[dict[str, str]]:
        return [] if until_ms is None else [_filter(MODIFIED_PROPERTY[stream], "LT", until_ms)]

    def _time_ordered(self, stream: str, cursor: StreamCursor, until_ms: int | None
                      ) -> Generator[StreamPage, None, tuple[bool, int | None, int | None]]:
        """One ascending query from the cursor; returns (stopped at the cap, first and last timestamp seen)."""
        modified, upper = MODIFIED_PROPERTY[stream], self._upper(stream, until_ms)
        if cursor.modified_ms is None:
            groups = [{"filters": upper}] if upper else []
        elif cursor.id_after is None:
            groups = [{"filters": [_filter(modified, "GTE", cursor.modified_ms), *upper]}]
        else:
            groups = [{"filters": [_filter(modified, "GT", cursor.modified_ms), *upper]},
                      {"filters": [_filter(modified, "EQ", cursor.modified_ms),
                                   _filter("hs_object_id", "GT", cursor.id_after), *upper]}]
        after: str | None = None
        first = last = None
        seen_offsets: set[str] = set()
        while True:
            response = self._search(stream, groups, modified, after)
            if after is None and self._crowded_instant(stream, cursor, response, until_ms):
                return True, None, None
            fresh = []
            for obj in response.get("results", []):
                stamp, record_id = modified_ms(stream, obj), int(obj["id"])
                first = stamp if first is None else first
                last = stamp
                if not cursor.delivered(stamp, record_id):
                    cursor.advance(stamp, record_id)
                    fresh.append(obj)
            yield StreamPage(stream, self.catalog.records(stream, fresh), cursor.as_cursor())
            next_after = self._next_offset(response)
            if next_after is None:
                return _next_after(response) is not None, first, last
            if next_after in seen_offsets:
                raise ConnectorError(f"hubspot {self.catalog.connection}: {stream} search repeated offset {next_after}")
            seen_offsets.add(next_after)
            after = next_after

    def _crowded_instant(self, stream: str, cursor: StreamCursor, response: Mapping[str, Any],
                         until_ms: int | None) -> bool:
        """True when this query will hit the cap and its first instant alone holds a capful of records: then
        the cursor moves to that instant (nothing before it is in the query) for an id-ordered read."""
        results = response.get("results") or []
        if int(response.get("total", 0)) <= self.settings.search_cap or not results:
            return False
        instant = modified_ms(stream, results[0])
        groups = [{"filters": [_filter(MODIFIED_PROPERTY[stream], "EQ", instant), *self._upper(stream, until_ms)]}]
        probe = self._search(stream, groups, "hs_object_id", None, limit=1)
        if int(probe.get("total", 0)) < self.settings.search_cap:
            return False
        if cursor.modified_ms != instant:
            cursor.modified_ms, cursor.ids, cursor.id_after = instant, set(), None
        return True

    def _one_instant(self, stream: str, cursor: StreamCursor, until_ms: int | None) -> Iterator[StreamPage]:
        instant = cursor.modified_ms
        assert instant is not None
        while True:
            floor = cursor.id_after or 0
            groups = [{"filters": [_filter(MODIFIED_PROPERTY[stream], "EQ", instant),
                                   _filter("hs_object_id", "GT", floor), *self._upper(stream, until_ms)]}]
            after: str | None = None
            while True:
                response = self._search(stream, groups, "hs_object_id", after)
                fresh = []
                for obj in response.get("results", []):
                    record_id = int(obj["id"])
                    if not cursor.delivered(instant, record_id):
                        fresh.append(obj)
                    cursor.raise_id_floor(record_id)
                yield StreamPage(stream, self.catalog.records(stream, fresh), cursor.as_cursor())
                after = self._next_offset(response)
                if after is None:
                    break
            if _next_after(response) is None:
                return  # this instant is done; the time-ordered read goes on past it

    def latest_modified_ms(self, stream: str) -> int | None:
        body = {"sorts": [{"propertyName": MODIFIED_PROPERTY[stream], "direction": "DESCENDING"}],
                "properties": [MODIFIED_PROPERTY[stream]], "limit": 1}
        response = self.client.call_json(f"finding the newest {stream} change", self.client.search.do_search, stream,
                                         body)
        results = response.get("results", [])
        return modified_ms(stream, results[0]) if results else None

    # -- backfill and deletes -----------------------------------------------------------------------
    def list_pages(self, stream: str, cursor: StreamCursor) -> Iterator[StreamPage]:
        """Every live record in id order through the list endpoint; the last page switches to incremental."""
        if cursor.high_water_ms is None:
            cursor.high_water_ms = self.latest_modified_ms(stream) or 0
        names = self.catalog.properties(stream)
        while True:
            response = self.client.call_json(f"listing {stream}", self.client.objects.get_page, stream,
                                             limit=self.settings.list_page_size, after=cursor.list_after,
                                             properties=names, archived=False)
            next_after = _next_after(response)
            if next_after is not None and next_after == cursor.list_after:
                raise ConnectorError(f"hubspot {self.catalog.connection}: {stream} list repeated cursor {next_after}")
            results = response.get("results", [])
            if results:
                cursor.listed_max_id = max(cursor.listed_max_id or 0, *(int(obj["id"]) for obj in results))
            records = self.catalog.records(stream, results)
            if next_after is None:
                cursor.start_incremental()
            else:
                cursor.list_after = next_after
            yield StreamPage(stream, records, cursor.as_cursor())
            if next_after is None:
                return

    def id_pages(self, stream: str) -> Iterator[list[str]]:
        """The ids of every live record, a list page at a time, with one property only. A merged record's
        folded-in ids (`hs_merged_object_ids`) count as live: HubSpot still answers for them (with the
        survivor), so a ref kept under an old id is not a deletion."""
        after: str | None = None
        while True:
            response = self.client.call_json(f"listing {stream} ids", self.client.objects.get_page, stream,
                                             limit=self.settings.list_page_size, after=after,
                                             properties=[MERGED_PROPERTY], archived=False)
            ids = [record_id for obj in response.get("results", [])
                   for record_id in (str(obj["id"]), *merged_ids(obj.get("properties") or {}))]
            if ids:
                yield ids
            next_after = _next_after(response)
            if next_after is None:
                return
            if next_after == after:
                raise ConnectorError(f"hubspot {self.catalog.connection}: {stream} list repeated cursor {next_after}")
            after = next_after

    def archived_pages(self, stream: str, cursor: StreamCursor) -> Iterator[StreamPage]:
        """Records archived at or after the cursor's archive watermark, as deletes, oldest first.

        The archived listing is in id order and cannot be filtered by time, so the whole listing is read
        before any cursor moves (a resumed read then never skips an older deletion); webhooks
        (`*.deletion`) are the fast path for deletes.
        """
        after: str | None = None
        since, fresh = cursor.archived_ms or 0, []
        while True:
            response = self.client.call_json(f"listing archived {stream}", self.client.objects.get_page, stream,
                                             limit=self.settings.list_page_size, after=after,
                                             properties=[MODIFIED_PROPERTY[stream]], archived=True)
            for obj in response.get("results", []):
                archived_at = obj.get("archivedAt")
                stamp = to_ms(parse_hubspot_time(archived_at)) if archived_at else modified_ms(stream, obj)
                if stamp >= since and not cursor.archived_seen(stamp, int(obj["id"])):
                    fresh.append((stamp, int(obj["id"]), obj))
            after = _next_after(response)
            if after is None:
                break
        fresh.sort(key=lambda item: item[:2])
        size = self.settings.list_page_size
        for offset in range(0, len(fresh), size):
            chunk = fresh[offset:offset + size]
            for stamp, record_id, _ in chunk:
                cursor.advance_archived(stamp, record_id)
            yield StreamPage(stream, [self.catalog.record(stream, obj) for *_, obj in chunk], cursor.as_cursor())
