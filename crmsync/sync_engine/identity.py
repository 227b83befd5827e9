"""Identity resolution for a page of patches: ExternalRef first, then match keys in configured order.

One candidate links the patch to it. Several candidates, or one already linked to another record of the same
system and object (a duplicate inside that system), never merge silently: the patch gets a new canonical
record and an identity Conflict lists the candidates for a person to decide.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table

from crmsync.store.fetch import select_in
from crmsync.store.models import ENTITY_MODELS, ExternalRef
from crmsync.sync_engine.records import CanonicalPatch

DEFAULT_MATCH_KEYS: dict[str, list[str]] = {"lead": ["email", "phone"], "company": ["domain"]}
CHUNK = 500  # bound on bound parameters per IN list (SQLite and PostgreSQL both take this easily)

REF: Table = ExternalRef.__table__  # type: ignore[assignment]
REF_COLUMNS = ("id", "external_id", "canonical_id", "seen_hash", "pushed_hash", "deleted_at", "seen_values")


_RANDOM_HEX: list[str] = []  # 80-bit random parts drawn from the OS in batches: one system call per 256 ids


def new_id() -> str:
    """A 32-hex canonical id laid out like UUIDv7: 48 bits of milliseconds, then 80 random bits.

    Time-ordered ids keep inserts at the right edge of every B-tree keyed by canonical id (entity primary
    keys, refs and change log by record); random UUID4s scattered each page's writes over the whole index and
    made commits the most expensive step of a backfill.
    """
    try:
        random_part = _RANDOM_HEX.pop()
    except IndexError:  # list.pop is atomic: concurrent callers never share a value
        batch = secrets.token_hex(10 * 256)
        _RANDOM_HEX.extend(batch[i:i + 20] for i in range(0, len(batch), 20))
        random_part = _RANDOM_HEX.pop()
    return f"{time.time_ns() // 1_000_000:012x}{random_part}"


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(slots=True)
class RefRow:
    id: int
    canonical_id: str
    seen_hash: str | None
    pushed_hash: str | None
    deleted: bool
    seen_values: dict[str, Any] | None = None  # what this system last held (ExternalRef.seen_values)


@dataclass(slots=True)
class Resolution:
    canonical_id: str
    is_new: bool
    ambiguous_with: tuple[str, ...] = ()


# canonical id -> the live (system, object) pairs linked to it. Tuples rather than sets: a page holds one per
# record, and tuples of strings drop out of the garbage collector's tracking where sets stay in it.
Links = dict[str, tuple[tuple[str, str], ...]]


def add_link(linked: Links, canonical_id: str, pair: tuple[str, str]) -> None:
    current = linked.get(canonical_id, ())
    if pair not in current:
        linked[canonical_id] = (*current, pair)


def load_refs(conn: Connection, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], RefRow]:
    """ExternalRef rows for (system, object, external_id) keys, queried per (system, object) in chunks."""
    by_source: dict[tuple[str, str], list[str]] = defaultdict(list)
    for system, obj, external_id in set(keys):
        by_source[(system, obj)].append(external_id)
    found: dict[tuple[str, str, str], RefRow] = {}
    for (system, obj), ids in by_source.items():
        for ref_id, external_id, canonical_id, seen_hash, pushed_hash, deleted_at, seen_values in select_in(
                conn, REF, REF_COLUMNS, "external_id", ids, equal={"system": system, "object": obj}):
            found[(system, obj, external_id)] = RefRow(ref_id, canonical_id, seen_hash, pushed_hash,
                                                       deleted_at is not None, seen_values)
    return found


def linked_sources(conn: Connection, entity: str, canonical_ids: Iterable[str]) -> Links:
    """Live (system, object) pairs linked to each canonical id."""
    linked: Links = {}
    for canonical_id, system, obj in select_in(conn, REF, ("canonical_id", "system", "object"), "canonical_id",
                                               list(set(canonical_ids)), equal={"entity": entity},
                                               null=("deleted_at",)):
        add_link(linked, canonical_id, (system, obj))
    return linked


def resolve_unlinked(
    conn: Connection, entity: str, patches: Sequence[CanonicalPatch], match_keys: Sequence[str],
    stored_links: Links | None = None,
) -> list[Resolution]:
    """A Resolution for each patch that has no ExternalRef yet, in order.

    `stored_links`, when given, receives the stored links of every candidate looked up (() for none), so the
    caller need not query them again.
    """
    table: Table = ENTITY_MODELS[entity].__table__  # type: ignore[assignment]
    existing: dict[str, dict[Any, list[str]]] = {}
    remaining = patches
    for key in match_keys:
        wanted = {p.values.get(key) for p in remaining}
        wanted.discard(None)
        values = list(wanted)
        found: dict[Any, list[str]] = defaultdict(list)
        for record_id, value in select_in(conn, table, ("id", key), key, values, null=("merged_into", "deleted_at")):
            found[value].append(record_id)
        existing[key] = found
        # A stored candidate under this key decides for the patch (below), so later keys need no lookup for it.
        remaining = [p for p in remaining if p.values.get(key) not in found]
    candidate_ids = {cid for found in existing.values() for ids in found.values() for cid in ids}
    linked: Links = linked_sources(conn, entity, candidate_ids) if candidate_ids else {}
    if stored_links is not None:
        stored_links.update({cid: linked.get(cid, ()) for cid in candidate_ids})
    created_in_page: dict[str, dict[Any, str]] = {key: {} for key in match_keys}
    resolutions: list[Resolution] = []
    for patch in patches:
        resolution = None
        for key in match_keys:
            value = patch.values.get(key)
            if value is None:
                continue
            stored, in_page = existing[key].get(value), created_in_page[key].get(value)
            if not stored and in_page is None:
                continue
            candidates = [*(stored or ()), *(() if in_page is None else (in_page,))]
            if len(candidates) == 1 and (patch.system, patch.object) not in linked.get(candidates[0], ()):
                resolution = Resolution(candidates[0], is_new=False)
            else:
                resolution = Resolution(new_id(), is_new=True, ambiguous_with=tuple(sorted(set(candidates))))
            break
        if resolution is None:
            resolution = Resolution(new_id(), is_new=True)
        if resolution.is_new and not patch.link_only:  # a link-only record never makes a record to match
            for key in match_keys:
                value = patch.values.get(key)
                if value is not None:
                    created_in_page[key].setdefault(value, resolution.canonical_id)
        # Later patches in this page from the same source see the link just made.
        add_link(linked, resolution.canonical_id, (patch.system, patch.object))
        resolutions.append(resolution)
    return resolutions
