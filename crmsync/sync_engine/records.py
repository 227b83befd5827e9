"""The values that travel down the ingest path, from a connector's record to a canonical patch."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as a connector read it.

    `system` is the vendor kind and picks the mapping; `connection` names the account it came from (two
    Salesforce orgs are two connections) and defaults to the system. `cleared` lists source fields the source
    says were emptied: only those may overwrite a value with an empty one.
    """

    system: str
    object: str
    external_id: str
    modified_at: datetime
    payload: Mapping[str, Any]
    deleted: bool = False
    cleared: frozenset[str] = frozenset()
    connection: str | None = None

    @property
    def origin(self) -> str:
        """The connection name the canonical store records this record under."""
        return self.connection or self.system


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

    def content_hash(self) -> str:
        """Hash of what the source asserted: equal hashes mean nothing new (or our own echo).

        repr of sorted items is deterministic for the value types mappings produce (str, int, Decimal, date,
        datetime, bool, lists of those) and several times cheaper than JSON on the hot path.
        """
        # The source time is part of it: a source asserting the same values again later is news (it is newer
        # than what another system said meanwhile), while a re-read or a redelivery is not.
        if self.cleared or self.refs:
            text = repr((sorted(self.values.items()), sorted(self.cleared),
                         sorted((k, r.object, r.external_id) for k, r in self.refs.items()), self.deleted,
                         self.source_ts))
        else:  # the same text, without building the empty parts
            text = f"({sorted(self.values.items())!r}, [], [], {self.deleted!r}, {self.source_ts!r})"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

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
