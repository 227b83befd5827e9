"""The values that travel down the ingest path, from a connector's record to a canonical patch."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# A payload key a connector sets on a record its system made by merging others: their ids (HubSpot's
# hs_merged_object_ids). Identity links the record to their person and source_merges.py joins their records.
MERGED_IDS_KEY = "merged_ids"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as a connector read it.

    `system` is the vendor kind and picks the mapping; `connection` names the account it came from (two
    Salesforce orgs are two connections) and defaults to the system. `cleared` lists source fields the source
    says were emptied: only those may overwrite a value with an empty one. `partial` marks a record that
    carries only some of its fields (a webhook delta): fields it leaves out say nothing about their value.
    """

    system: str
    object: str
    external_id: str
    modified_at: datetime
    payload: Mapping[str, Any]
    deleted: bool = False
    cleared: frozenset[str] = frozenset()
    connection: str | None = None
    partial: bool = False

    @property
    def origin(self) -> str:
        """The connection name the canonical store records this record under."""
        return self.connection or self.system


def merged_ids(record: SourceRecord) -> list[str]:
    """The ids of the records its system merged into `record` (see MERGED_IDS_KEY), its own left out."""
    return [str(i) for i in record.payload.get(MERGED_IDS_KEY) or () if str(i) != record.external_id]


@dataclass(frozen=True, slots=True)
class RefValue:
    """A field holding another record's id in the same system; resolved to a canonical id at ingest."""

    object: str
    external_id: str


@dataclass(slots=True)
class CanonicalPatch:
    """Only the canonical fields a source asserted, with where and when they came from.

    `system` here is the origin connection: provenance, external refs and priorities use it.
    """

    entity: str
    system: str
    object: str
    external_id: str
    source_ts: datetime
    values: dict[str, Any]
    cleared: frozenset[str] = frozenset()
    refs: dict[str, RefValue] = field(default_factory=dict)
    deleted: bool = False
    # Which canonical fields a write-back to this source object carries (None: it is never written back).
    written_back: Callable[[str], bool] | None = None
    # The content hash, once taken (a MappingWorker takes it in its own process).
    seen_hash: str | None = None
    # `source_ts` as provenance writes it (fixed-width ISO UTC), once taken: see `merge.source_time`.
    source_iso: str | None = None
    # The record carries only some of its fields (SourceRecord.partial): absent fields say nothing.
    partial: bool = False
    # The record may link to a canonical record identity finds, never create one (a Five9 caller's number).
    link_only: bool = False

    def content_hash(self) -> str:
        """Hash of what the source asserted: equal hashes mean nothing new (or our own echo).

        The source time is part of it: a source asserting the same values again later is news (it is newer
        than what another system said meanwhile), while a re-read or a redelivery is not. See `hash_text`.
        """
        return hashlib.blake2b(hash_text(self).encode(), digest_size=16).hexdigest()

    def echo_hash(self) -> str | None:
        """Hash of only the fields a write-back carries: what we pushed, read back, hashes the same."""
        keep = self.written_back
        if keep is None:
            return None
        body = (sorted((k, v) for k, v in self.values.items() if keep(k)), sorted(k for k in self.cleared if keep(k)),
                sorted((k, r.object, r.external_id) for k, r in self.refs.items() if keep(k)), self.deleted)
        return hashlib.blake2b(repr(body).encode(), digest_size=16).hexdigest()

    def without_written_back(self) -> None:
        """Drop the fields a write-back carries (they are our own echo); what is left is the source's news."""
        keep = self.written_back
        if keep is not None:
            self.values = {k: v for k, v in self.values.items() if not keep(k)}
            self.cleared = frozenset(k for k in self.cleared if not keep(k))
            self.refs = {k: r for k, r in self.refs.items() if not keep(k)}


HASH_VERSION = "2"
_ITEM, _KEY = "\x1e", "\x1f"  # control characters no mapped key or usual value holds


def hash_text(patch: CanonicalPatch) -> str:
    """The text a content hash is taken of; stored hashes are compared with new ones, so it must not drift.

    Items are `key US tag value` joined by RS, in key order, where a string value is written as it is (tag `s`)
    and anything else as its repr (tag `r`): repr of a whole sorted item list cost three times this on the
    ingest hot path. When a key or a string holds a separator the cheap form could be ambiguous, so the record
    falls back to the repr form (its own prefix, so the two forms never produce the same text).
    """
    items = sorted(patch.values.items())
    parts = [f"{key}{_KEY}s{value}" if type(value) is str else f"{key}{_KEY}r{value!r}" for key, value in items]
    body = _ITEM.join(parts)
    if parts and (body.count(_ITEM) != len(parts) - 1 or body.count(_KEY) != len(parts)):
        body = "repr" + repr(items)
    tail = ""
    if patch.cleared or patch.refs:
        tail = repr((sorted(patch.cleared), sorted((k, r.object, r.external_id) for k, r in patch.refs.items())))
    return f"{HASH_VERSION}{_ITEM}{body}{_ITEM}{tail}{_ITEM}{patch.deleted:d}{_ITEM}{patch.source_ts.isoformat()}"
